// The per-Envoy view of a synced global rule (`sync`): one record per (rule, key) in proxy-wasm
// shared data, updated with compare-and-swap so every worker of an Envoy decides from the same
// numbers. Bounded like store.ts: a rule owns at most `maxKeys` slots, a key hashes to a slot and
// probes a few neighbours, and a record of an earlier window is free for any key. A key that
// finds no free slot gets NO_SLOT: the caller then asks the service for that request (as a rule
// without sync does), so the bound never costs accuracy, only a round trip.
//
// A record, 40 bytes:
//   [0, 8)   the start of the fixed window it counts (ms since the epoch, a multiple of the period,
//            as the rate limit service aligns its windows: floor(now / unit));
//   [8, 12)  learned: the service's count for the window, as the last answer said (all Envoys);
//   [12, 16) unreported: hits admitted here and not yet reported;
//   [16, 20) in flight: hits taken by a report whose answer has not come yet;
//   [20, 24) the period in seconds (a record of another period is a new, empty one);
//   [24, 40) the first 16 bytes of the SHA-256 of the owning key (store.ts explains why).
// A hit is admitted iff learned + unreported + in flight < requests.
import { SHARED_OK, SharedKey, SharedValue, getSharedData, setSharedData } from "../../assembly/runtime";
import { hashKey } from "./keys";
import { OwnerIdCache } from "./owner-cache";

export const OWNER_BYTES: i32 = 16;
const LEARNED: i32 = 8;
const UNREPORTED: i32 = 12;
const IN_FLIGHT: i32 = 16;
const PERIOD: i32 = 20;
const OWNER: i32 = 24;
const RECORD_BYTES: i32 = OWNER + OWNER_BYTES;
const PROBES: u32 = 8;
const MAX_CAS_ATTEMPTS: i32 = 64;
const MAX_SUFFIX: i32 = 10;
/** No slot (all probed ones hold other keys' records of this window). */
export const NO_SLOT: i64 = -1;

const VALUE = new ArrayBuffer(RECORD_BYTES);
const OWNER_IDS = new OwnerIdCache();

/** The outcome of SyncStore.admit. */
export class SyncVerdict {
  /** The key's slot, or NO_SLOT (nothing was decided: ask the service). */
  slot: i64 = NO_SLOT;
  allowed: bool = false;
  /** learned + unreported + in flight after this hit (before it, when refused). */
  used: i64 = 0;
  /** The owner id of the key (valid until the next admit). */
  owner: ArrayBuffer = new ArrayBuffer(OWNER_BYTES);
}

/** The fixed window `nowMs` falls in, as the service aligns it. */
export function windowStart(nowMs: i64, periodMs: i64): i64 {
  return nowMs - (nowMs % periodMs);
}

export class SyncStore {
  private readonly key: SharedKey;
  private readonly probe: SharedValue = new SharedValue(RECORD_BYTES);

  constructor(
    /** Shared-data key prefix, unique per plugin and rule. */
    prefix: string,
    public readonly maxKeys: u32,
    private readonly periodMs: i64,
  ) {
    this.key = new SharedKey(prefix, MAX_SUFFIX);
  }

  private read(slot: i64): SharedValue {
    return getSharedData(this.key.withNumber(<u32>slot), this.probe);
  }

  /** Whether the read record counts `window` for this rule's period. */
  private current(got: SharedValue, window: i64): bool {
    if (!got.ok || got.size != <usize>RECORD_BYTES) return false;
    const at = changetype<usize>(got.bytes);
    return load<i64>(at) == window && <i64>load<u32>(at + PERIOD) * 1000 == this.periodMs;
  }

  private ownedBy(got: SharedValue, owner: ArrayBuffer): bool {
    return memory.compare(changetype<usize>(got.bytes) + OWNER, changetype<usize>(owner), OWNER_BYTES) == 0;
  }

  private write(slot: i64, window: i64, learned: u32, unreported: u32, inFlight: u32, owner: ArrayBuffer, cas: u32): bool {
    const at = changetype<usize>(VALUE);
    store<i64>(at, window);
    store<u32>(at + LEARNED, learned);
    store<u32>(at + UNREPORTED, unreported);
    store<u32>(at + IN_FLIGHT, inFlight);
    store<u32>(at + PERIOD, <u32>(this.periodMs / 1000));
    memory.copy(at + OWNER, changetype<usize>(owner), OWNER_BYTES);
    return setSharedData(this.key.withNumber(<u32>slot), at, <usize>RECORD_BYTES, cas) == SHARED_OK;
  }

  /**
   * Decides one hit for `key` at `nowMs` against `requests` per window: admitted hits are added
   * to the record's unreported count.
   */
  admit(key: string, requests: i64, nowMs: i64, out: SyncVerdict): SyncVerdict {
    const h = hashKey(key);
    memory.copy(changetype<usize>(out.owner), changetype<usize>(OWNER_IDS.lookup(key, h)), OWNER_BYTES);
    const window = windowStart(nowMs, this.periodMs);
    out.slot = NO_SLOT;
    for (let p: u32 = 0; p < PROBES && p < this.maxKeys; p++) {
      const slot = <i64>((h + p) % this.maxKeys);
      const got = this.read(slot);
      // Another key's record of this window: that slot is taken. Anything else (never written,
      // an earlier window, this key's own record) is this key's. Taking the first such slot never
      // splits a key's count (unlike store.ts, which must look past free slots for the key's own):
      // the slots before a key's record held other keys' records of this window when it was
      // written, and a record stays of its window until the window ends, when every count restarts.
      if (this.current(got, window) && !this.ownedBy(got, out.owner)) continue;
      if (this.tryAdmit(slot, window, requests, out)) return out;
    }
    return out;
  }

  /** The CAS loop on one slot; false when another key took it over meanwhile. */
  private tryAdmit(slot: i64, window: i64, requests: i64, out: SyncVerdict): bool {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const got = this.read(slot);
      let learned: u32 = 0;
      let unreported: u32 = 0;
      let inFlight: u32 = 0;
      if (this.current(got, window)) {
        if (!this.ownedBy(got, out.owner)) return false;
        const at = changetype<usize>(got.bytes);
        learned = load<u32>(at + LEARNED);
        unreported = load<u32>(at + UNREPORTED);
        inFlight = load<u32>(at + IN_FLIGHT);
      }
      out.slot = slot;
      out.used = <i64>learned + <i64>unreported + <i64>inFlight;
      if (out.used >= requests) {
        out.allowed = false;
        return true;
      }
      if (this.write(slot, window, learned, unreported + 1, inFlight, out.owner, got.ok ? got.cas : 0)) {
        out.allowed = true;
        out.used++;
        return true;
      }
    }
    // 64 lost races in a row: refuse rather than admit a hit nobody counted.
    out.slot = slot;
    out.allowed = false;
    return true;
  }

  /**
   * For a report: moves the record's unreported hits to in flight and returns how many (0 when
   * the record is gone: another window, or another key's now).
   */
  take(slot: i64, owner: ArrayBuffer, window: i64): u32 {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const got = this.read(slot);
      if (!this.current(got, window) || !this.ownedBy(got, owner)) return 0;
      const at = changetype<usize>(got.bytes);
      const unreported = load<u32>(at + UNREPORTED);
      if (unreported == 0) return 0;
      if (this.write(slot, window, load<u32>(at + LEARNED), 0, load<u32>(at + IN_FLIGHT) + unreported, owner, got.cas)) return unreported;
    }
    return 0;
  }

  /**
   * A report's outcome for `taken` hits: `learned` >= 0 is the service's count for the window
   * (counts only grow within a window, so the larger of it and what is known wins); -1 means the
   * report failed and the hits are unreported again. Nothing happens once the record is gone.
   */
  settle(slot: i64, owner: ArrayBuffer, window: i64, taken: u32, learned: i64): void {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const got = this.read(slot);
      if (!this.current(got, window) || !this.ownedBy(got, owner)) return;
      const at = changetype<usize>(got.bytes);
      let known = load<u32>(at + LEARNED);
      let unreported = load<u32>(at + UNREPORTED);
      const inFlight = load<u32>(at + IN_FLIGHT);
      if (learned >= 0) known = max<u32>(known, <u32>min<i64>(learned, 0xffffffff));
      else unreported += taken;
      if (this.write(slot, window, known, unreported, inFlight > taken ? inFlight - taken : 0, owner, got.cas)) return;
    }
  }
}
