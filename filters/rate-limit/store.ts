// Buckets in proxy-wasm shared data, updated with compare-and-swap so every worker thread of
// an Envoy shares one limit. Memory is bounded: a rule owns at most `maxKeys` slots; a key
// hashes to a slot and probes a few neighbours; a slot whose bucket is full again (idle) can be
// taken over by another key. When every probed slot holds another active key, the request is
// counted against the rule's overflow bucket.
//
// A slot's value, 32 bytes, fixed-size so a slot costs the same however long the key (a header
// value can be kilobytes):
//   [0, 8)   TAT, i64 little-endian (see bucket.ts), in ms x requests of the shape below;
//   [8, 16)  the shape the TAT was written under: requests, period_s and burst packed exactly
//            (shapeOf). Shared data outlives a config update (the vm_id stays), and a TAT only
//            means something under its own shape: a slot written under another shape is a new
//            full bucket, whoever its key — what Envoy's native local_ratelimit does on a config
//            change. The shape is in the value, not the slot's name: shared data has no delete,
//            so a name per shape would leak the old slots on every edit;
//   [16, 32) the first 16 bytes of the SHA-256 of the owning key: not craftable, so a client
//            cannot pick a key that shares a victim's bucket.
import { Metric, SHARED_OK, SharedKey, SharedValue, getSharedData, setSharedData } from "../../assembly/runtime";
import { Limit, Verdict, admit, isIdle } from "./bucket";
import { hashKey } from "./keys";
import { OwnerIdCache } from "./owner-cache";

const OWNER_BYTES: i32 = 16;
const SHAPE_OFFSET: i32 = 8;
const OWNER_OFFSET: i32 = 16;
const SLOT_BYTES: i32 = OWNER_OFFSET + OWNER_BYTES;

// Per-VM scratch, reused by every request (a VM runs one callback at a time): the slot value
// being written, which set_shared_data copies into the host.
const VALUE = new ArrayBuffer(SLOT_BYTES);

/** Owner ids by key: one SHA-256 per key while it is in use, not per request. */
const OWNER_IDS = new OwnerIdCache();

/**
 * A rule's limit as one exact number (not a hash: two different limits never look alike). The
 * config's bounds make it fit: requests and burst <= 1e6 < 2^20, period_s <= 86,400 < 2^17, and
 * periods are whole seconds (20 + 17 + 20 = 57 bits).
 */
export function shapeOf(limit: Limit): u64 {
  return <u64>limit.requests | (<u64>(limit.periodMs / 1000) << 20) | (<u64>limit.burst << 37);
}

const PROBES: u32 = 8;
const MAX_CAS_ATTEMPTS: i32 = 64;

/** The slot value, in VALUE (valid until the next call). */
function slotValue(tat: i64, shape: u64, owner: ArrayBuffer): ArrayBuffer {
  const at = changetype<usize>(VALUE);
  store<i64>(at, tat);
  store<u64>(at + SHAPE_OFFSET, shape);
  memory.copy(at + OWNER_OFFSET, changetype<usize>(owner), OWNER_BYTES);
  return VALUE;
}

/** Whether a slot value holds a bucket of this shape; anything else (another config's shape, an older layout) is a new full bucket. */
function sameShape(value: SharedValue, shape: u64): bool {
  return value.size == <usize>SLOT_BYTES && load<u64>(changetype<usize>(value.bytes) + SHAPE_OFFSET) == shape;
}

function tatOf(value: SharedValue): i64 {
  return load<i64>(changetype<usize>(value.bytes));
}

/** Only for a value of SLOT_BYTES (checked by sameShape first). */
function ownedBy(value: SharedValue, owner: ArrayBuffer): bool {
  return memory.compare(changetype<usize>(value.bytes) + OWNER_OFFSET, changetype<usize>(owner), OWNER_BYTES) == 0;
}

/** Slot numbers are decimal u32s (at most 10 digits); the overflow bucket's name is a word. */
const OVERFLOW = String.UTF8.encode("overflow");
const MAX_SUFFIX: i32 = 10;
/** `take`'s "no free slot met yet", and trySlot's "the overflow bucket" (slots are < maxKeys <= u32 max). */
const NO_SLOT: i64 = -1;
const OVERFLOW_SLOT: i64 = -2;

export class RuleStore {
  // Reused by every request: a slot's shared-data name is prefix + slot number (or "overflow"),
  // written into `key` in place; reads are copied into `probe`, and the free slot a probe found
  // into `freeRead` (kept while the probes go on). See assembly/runtime/shared-data.ts.
  private readonly key: SharedKey;
  private readonly probe: SharedValue = new SharedValue(SLOT_BYTES);
  private readonly freeRead: SharedValue = new SharedValue(SLOT_BYTES);

  constructor(
    /** Shared-data key prefix, unique per plugin and rule. */
    public readonly prefix: string,
    public readonly maxKeys: u32,
    private casRetries: Metric,
  ) {
    this.key = new SharedKey(prefix, MAX_SUFFIX);
  }

  /** The shared-data name of `slot` (a slot number, or OVERFLOW_SLOT), in `key`. */
  private slotKey(slot: i64): SharedKey {
    return slot == OVERFLOW_SLOT ? this.key.withSuffix(OVERFLOW) : this.key.withNumber(<u32>slot);
  }

  /** Charges one request for `key` at `nowMs`: `out.allowed` says whether the bucket had a token. */
  take(key: string, limit: Limit, nowMs: i64, out: Verdict): Verdict {
    const h = hashKey(key);
    const owner = OWNER_IDS.lookup(key, h);
    const shape = shapeOf(limit);
    // One pass over the probe sequence: the key's own slot wins wherever it is, and only a key
    // that owns none takes the first free one (never written, another shape, or idle). Taking a
    // free slot met earlier would hand a key that already has a bucket further on a fresh one,
    // as soon as an earlier slot in its sequence went idle.
    let free: i64 = NO_SLOT;
    for (let p: u32 = 0; p < PROBES && p < this.maxKeys; p++) {
      const slot = <i64>((h + p) % this.maxKeys);
      const got = getSharedData(this.slotKey(slot), this.probe);
      if (got.ok && sameShape(got, shape)) {
        if (ownedBy(got, owner)) {
          // The read is handed on, so the usual request costs one shared-data read, not two.
          // false only if another key took the slot over since this read: look further.
          if (this.trySlot(slot, owner, shape, limit, nowMs, out, false, got)) return out;
          continue;
        }
        if (!isIdle(limit, tatOf(got), nowMs)) continue; // another key is using this slot
      }
      if (free == NO_SLOT) {
        free = slot;
        this.freeRead.copyFrom(got);
      }
      // A slot never written ends the search: shared data has no delete, so it was free whenever
      // this key claimed its slot, and a key claims the first free slot of its sequence — it owns
      // none further on. Stopping here keeps a new key to one read before it writes, which also
      // keeps the creation race between workers (see the README) as narrow as it can be.
      if (!got.ok) break;
    }
    // false if another key claimed the free slot since it was read: then the overflow bucket.
    if (free != NO_SLOT && this.trySlot(free, owner, shape, limit, nowMs, out, false, this.freeRead)) return out;
    this.trySlot(OVERFLOW_SLOT, owner, shape, limit, nowMs, out, true);
    return out;
  }

  /**
   * One slot's compare-and-swap loop; false when the slot belongs to another active key.
   * `read`: the slot as the caller just read it, used for the first attempt (later attempts, after
   * a lost race, read again).
   */
  private trySlot(slot: i64, owner: ArrayBuffer, shape: u64, limit: Limit, nowMs: i64, out: Verdict, anyOwner: bool, read: SharedValue | null = null): bool {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const got = attempt == 0 && read !== null ? read : getSharedData(this.slotKey(slot), this.probe);
      let tat: i64 = -1;
      let cas: u32 = 0;
      if (got.ok) {
        cas = got.cas;
        // A value of another shape stays tat = -1: a new full bucket, whoever wrote it.
        if (sameShape(got, shape)) {
          const stored = tatOf(got);
          if (anyOwner || ownedBy(got, owner)) tat = stored;
          else if (!isIdle(limit, stored, nowMs)) return false; // another key is using this slot
          // else: the other key's bucket is full again; this key takes the slot over.
        }
      }
      admit(limit, tat, nowMs, out);
      if (!out.allowed) return true;
      const value = slotValue(out.tat, shape, owner);
      const r = setSharedData(this.slotKey(slot), changetype<usize>(value), <usize>value.byteLength, cas);
      if (r == SHARED_OK) return true;
      this.casRetries.increment();
    }
    // Unreachable in practice (64 lost races in a row); refuse rather than admit unaccounted.
    out.allowed = false;
    out.retryAfterMs = 1000;
    return true;
  }

  private scanNext: u32 = 0;
  private scanCount: i64 = 0;
  /** Active keys found by the last complete scan. */
  tracked: i64 = 0;

  /**
   * Advances the scan of this rule's slots by at most `budget` slots, counting those whose
   * bucket is not idle; a complete pass updates `tracked`. Spreading the scan over ticks keeps
   * each tick cheap even with a large max_keys.
   */
  scan(limit: Limit, nowMs: i64, budget: u32): void {
    const shape = shapeOf(limit);
    for (let i: u32 = 0; i < budget; i++) {
      const got = getSharedData(this.slotKey(<i64>this.scanNext), this.probe);
      // A slot of another shape counts as idle: the next request on it starts a new full bucket.
      if (got.ok && sameShape(got, shape) && !isIdle(limit, tatOf(got), nowMs)) this.scanCount++;
      this.scanNext++;
      if (this.scanNext >= this.maxKeys) {
        this.tracked = this.scanCount;
        this.scanCount = 0;
        this.scanNext = 0;
        return;
      }
    }
  }
}
