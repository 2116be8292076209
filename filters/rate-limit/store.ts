// Buckets in proxy-wasm shared data, updated with compare-and-swap so every worker thread of
// an Envoy shares one limit. Memory is bounded: a rule owns at most `maxKeys` slots; a key
// hashes to a slot and probes a few neighbours; a slot whose bucket is full again (idle) can be
// taken over by another key. When every probed slot holds another active key, the request is
// counted against the rule's overflow bucket.
//
// A slot's value: 8 bytes little-endian TAT (see bucket.ts), then the first 16 bytes of the
// SHA-256 of the owning key — fixed-size, so a slot costs 24 bytes however long the key (a header
// value can be kilobytes), and not craftable: a client cannot pick a key that shares a victim's
// bucket.
import { get_shared_data, set_shared_data, WasmResultValues } from "@gcoredev/proxy-wasm-sdk-as/assembly";
import { Metric } from "../../assembly/runtime";
import { Limit, Verdict, admit, isIdle } from "./bucket";
import { hashKey } from "./keys";
import { hash, HashAlg } from "../../assembly/crypto/hash";

const OWNER_BYTES: i32 = 16;

function ownerId(key: string): ArrayBuffer {
  const digest = hash(HashAlg.Sha256, Uint8Array.wrap(String.UTF8.encode(key)));
  return digest.buffer.slice(digest.byteOffset, digest.byteOffset + OWNER_BYTES);
}

const PROBES: u32 = 8;
const MAX_CAS_ATTEMPTS: i32 = 64;

function slotValue(tat: i64, owner: ArrayBuffer): ArrayBuffer {
  const buf = new ArrayBuffer(8 + owner.byteLength);
  store<i64>(changetype<usize>(buf), tat);
  memory.copy(changetype<usize>(buf) + 8, changetype<usize>(owner), owner.byteLength);
  return buf;
}

function ownedBy(value: ArrayBuffer, owner: ArrayBuffer): bool {
  if (value.byteLength != 8 + owner.byteLength) return false;
  return memory.compare(changetype<usize>(value) + 8, changetype<usize>(owner), owner.byteLength) == 0;
}

export class RuleStore {
  constructor(
    /** Shared-data key prefix, unique per plugin and rule. */
    public readonly prefix: string,
    public readonly maxKeys: u32,
    private casRetries: Metric,
  ) {}

  slotKey(slot: u32): string {
    return this.prefix + slot.toString();
  }

  get overflowKey(): string {
    return this.prefix + "overflow";
  }

  /** Charges one request for `key` at `nowMs`: `out.allowed` says whether the bucket had a token. */
  take(key: string, limit: Limit, nowMs: i64, out: Verdict): Verdict {
    const owner = ownerId(key);
    const h = hashKey(key);
    for (let p: u32 = 0; p < PROBES && p < this.maxKeys; p++) {
      const r = this.trySlot(this.slotKey((h + p) % this.maxKeys), owner, limit, nowMs, out, false);
      if (r) return out;
    }
    this.trySlot(this.overflowKey, owner, limit, nowMs, out, true);
    return out;
  }

  /** One slot's compare-and-swap loop; false when the slot belongs to another active key. */
  private trySlot(slotKey: string, owner: ArrayBuffer, limit: Limit, nowMs: i64, out: Verdict, anyOwner: bool): bool {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const got = get_shared_data(slotKey);
      let tat: i64 = -1;
      let cas: u32 = 0;
      if (got.result == WasmResultValues.Ok) {
        const value = got.value!;
        cas = got.cas;
        const stored = value.byteLength >= 8 ? load<i64>(changetype<usize>(value)) : -1;
        if (anyOwner || ownedBy(value, owner)) tat = stored;
        else if (!isIdle(limit, stored, nowMs)) return false; // another key is using this slot
        // else: the other key's bucket is full again; this key takes the slot over.
      }
      admit(limit, tat, nowMs, out);
      if (!out.allowed) return true;
      const r = set_shared_data(slotKey, slotValue(out.tat, owner), cas);
      if (r == WasmResultValues.Ok) return true;
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
    for (let i: u32 = 0; i < budget; i++) {
      const got = get_shared_data(this.slotKey(this.scanNext));
      if (got.result == WasmResultValues.Ok && got.value!.byteLength >= 8 && !isIdle(limit, load<i64>(changetype<usize>(got.value!)), nowMs)) this.scanCount++;
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
