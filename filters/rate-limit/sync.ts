// What one VM knows about the synced global rules' reports: the keys it admitted hits for (a
// bounded set), and the report in flight. Every `sync`, the VM takes each such key's unreported
// hits (sync-store.ts) and sends them in ONE ShouldRateLimit call, one descriptor per key with
// its own hits_addend; the answer's counts become the keys' learned counts, a failure makes the
// hits unreported again. At most one report per VM is in flight: a tick that finds one pending
// sends nothing (its hits wait for the next tick).
import { Rule } from "./config";
import { Descriptor } from "./rls";
import { NO_SLOT, OWNER_BYTES, SyncStore, windowStart } from "./sync-store";

/** Keys a VM tracks for its reports; a new key beyond it is asked per request (no sync). */
export const MAX_TRACKED_KEYS: i32 = 256;
/** Keys longer than this (a header can be kilobytes) are asked per request, never kept. */
export const MAX_TRACKED_KEY_CHARS: i32 = 1024;

/** A key this VM admitted hits for, until a report finds nothing left to take. */
export class SyncEntry {
  readonly owner: ArrayBuffer = new ArrayBuffer(OWNER_BYTES);
  slot: i64 = NO_SLOT;
  window: i64 = 0;

  constructor(public readonly rule: Rule, public readonly descriptor: Descriptor) {}
}

/** One descriptor of a report: the entry and how many hits it carries. */
export class ReportItem {
  constructor(public readonly entry: SyncEntry, public readonly taken: u32, public readonly window: i64) {}
}

/** A copy of `d` that counts nothing (hits_addend 0: the service only answers). */
function checkOnly(d: Descriptor): Descriptor {
  const c = new Descriptor();
  for (let i = 0; i + 1 < d.pairs.length; i += 2) c.add(d.pairs[i], d.pairs[i + 1]);
  c.hitsAddend = 0;
  return c;
}

export class SyncTracker {
  private readonly entries: Map<string, SyncEntry> = new Map<string, SyncEntry>();
  /** Per rule index: when this VM last reported it (ms). */
  private readonly lastReport: i64[];
  private readonly due: bool[];
  /** The report in flight: its items (its token: service-calls.ts). */
  items: ReportItem[] = [];
  /** When reports started failing (0: the last one succeeded). */
  failingSinceMs: i64 = 0;
  /**
   * The last descriptor reported, as a check without hits (hits_addend 0): sent while reports are
   * failing and there is nothing to report, so that a worker refusing under on_failure: deny (and
   * so admitting nothing to report) still finds out when the service is back.
   */
  private probe: Descriptor | null = null;

  constructor(
    private readonly rules: Rule[],
    /** Per rule index; null for a rule without sync. */
    readonly stores: (SyncStore | null)[],
  ) {
    this.lastReport = new Array<i64>(rules.length).fill(0);
    this.due = new Array<bool>(rules.length).fill(false);
  }

  /** The set's name for `key` of `rule`. */
  static id(rule: Rule, key: string): string {
    return rule.index.toString() + "|" + key;
  }

  get(id: string): SyncEntry | null {
    return this.entries.has(id) ? this.entries.get(id) : null;
  }

  /** Whether a key not in the set yet can be tracked: the set has room and the key is not too long. */
  canAdd(key: string): bool {
    return this.entries.size < MAX_TRACKED_KEYS && key.length <= MAX_TRACKED_KEY_CHARS;
  }

  add(id: string, entry: SyncEntry): void {
    this.entries.set(id, entry);
  }

  get tracked(): i32 {
    return this.entries.size;
  }

  /** Whether reports have failed for longer than `ms` at `nowMs`. */
  failingFor(ms: i64, nowMs: i64): bool {
    return this.failingSinceMs > 0 && nowMs - this.failingSinceMs > ms;
  }

  /**
   * Takes the hits of every tracked key whose rule is due at `nowMs` (its sync elapsed since its
   * last report) into `items`, forgetting keys with nothing left; the descriptors to send, with
   * their hits_addend set, or null when there is nothing to report.
   */
  collect(nowMs: i64): Descriptor[] | null {
    for (let i = 0; i < this.rules.length; i++) {
      const sync = this.rules[i].syncMs;
      this.due[i] = sync > 0 && nowMs - this.lastReport[i] >= sync;
      if (this.due[i]) this.lastReport[i] = nowMs;
    }
    let out: Descriptor[] | null = null;
    this.items = [];
    const ids = this.entries.keys();
    for (let i = 0; i < ids.length; i++) {
      const e = this.entries.get(ids[i]);
      const rule = e.rule;
      if (!this.due[rule.index]) continue;
      // A record of an earlier window is gone: its unreported hits belonged to that window.
      const taken = e.window == windowStart(nowMs, rule.limit.periodMs) ? this.stores[rule.index]!.take(e.slot, e.owner, e.window) : 0;
      if (taken == 0) {
        this.entries.delete(ids[i]);
        continue;
      }
      e.descriptor.hitsAddend = <i64>taken;
      this.items.push(new ReportItem(e, taken, e.window));
      if (out === null) out = [];
      out.push(e.descriptor);
      if (this.probe === null) this.probe = checkOnly(e.descriptor);
    }
    if (out === null && this.failingSinceMs > 0 && this.probe !== null) out = [this.probe!];
    return out;
  }
}
