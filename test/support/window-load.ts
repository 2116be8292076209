// Load over several Envoys for global (fixed-window) rate limits, and the per-window count of what
// was admitted.
//
// The load: a few request loops per target, each on a keep-alive connection, every request
// recorded with the wall-clock instants it was sent (t0) and answered (t1). Targets can join while
// the load runs (a third Envoy starting mid-run).
//
// The count: envoyproxy/ratelimit counts fixed windows aligned to its unit on its wall clock
// (window = floor(now / unit)), which on this machine is the clock Date.now() reads. A request was
// decided at some instant in [t0, t1], so its window is known exactly unless its round trip spans
// a boundary; such a request may belong to either window. admittedWithinLimit() asks whether the
// admitted requests CAN be attributed so that no window holds more than the limit (earliest
// deadline first, which is optimal for intervals on a line): the bound is the limit itself, the
// only slack being that boundary attribution.
import { Agent, request as httpRequest } from "node:http";

export interface LoadTarget {
  /** Groups the records (e.g. the Envoy's name). */
  name: string;
  url: string;
  headers?: Record<string, string>;
  /** What the records are counted by, e.g. the consumer the request's key belongs to (default ""). */
  key?: string;
}

export interface LoadRecord {
  target: string;
  key: string;
  /** Date.now() just before the request was written, and once the response had ended. */
  t0: number;
  t1: number;
  /** 0 when the request failed at the connection (reset, refused, timeout). */
  status: number;
  /** The body and retry-after of a response other than 200 (refusals say which rule and why). */
  body?: string;
  retryAfter?: string;
}

export interface Load {
  /** Starts `loops` request loops (default: the load's loopsPerTarget) against another target. */
  add(target: LoadTarget, loops?: number): void;
  /** Everything recorded so far. */
  readonly records: readonly LoadRecord[];
  /** Ends the loops once their request in flight is answered; resolves with every record. */
  stop(): Promise<LoadRecord[]>;
}

const REQUEST_TIMEOUT_MS = 10_000;

interface Answer {
  status: number;
  body: string;
  retryAfter?: string;
}

function once(agent: Agent, t: LoadTarget): Promise<Answer> {
  return new Promise((resolve) => {
    const req = httpRequest(t.url, { agent, headers: t.headers, timeout: REQUEST_TIMEOUT_MS });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", () => resolve({ status: 0, body: "" }));
      res.on("end", () => {
        const retryAfter = res.headers["retry-after"];
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("utf8"),
          ...(retryAfter === undefined ? {} : { retryAfter }),
        });
      });
    });
    req.end();
  });
}

/** Starts the load on `targets`, `loopsPerTarget` (default 4) concurrent request loops each. */
export function startLoad(targets: LoadTarget[], o: { loopsPerTarget?: number } = {}): Load {
  const perTarget = o.loopsPerTarget ?? 4;
  const records: LoadRecord[] = [];
  const agents: Agent[] = [];
  const loops: Promise<void>[] = [];
  let running = true;
  const loop = async (agent: Agent, t: LoadTarget) => {
    while (running) {
      const t0 = Date.now();
      const r = await once(agent, t);
      const t1 = Date.now();
      const refusal = r.status === 200 ? {} : { body: r.body, ...(r.retryAfter === undefined ? {} : { retryAfter: r.retryAfter }) };
      records.push({ target: t.name, key: t.key ?? "", t0, t1, status: r.status, ...refusal });
    }
  };
  const add = (t: LoadTarget, n = perTarget) => {
    const agent = new Agent({ keepAlive: true, maxSockets: n });
    agents.push(agent);
    for (let i = 0; i < n; i++) loops.push(loop(agent, t));
  };
  for (const t of targets) add(t);
  return {
    add,
    records,
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const a of agents) a.destroy();
      return records;
    },
  };
}

export interface WindowCount {
  /** Window start (ms since the epoch). */
  start: number;
  /** Admitted requests certainly decided in this window (their round trip lies inside it). */
  sure: number;
  /** Admitted requests whose round trip spans this window and another one. */
  spanning: number;
}

const windowOf = (t: number, periodMs: number) => Math.floor(t / periodMs);

/** Admitted requests per window of `periodMs`, oldest window first (windows with none left out). */
export function admittedPerWindow(
  records: readonly LoadRecord[],
  periodMs: number,
  admitted = (r: LoadRecord) => r.status === 200,
): WindowCount[] {
  const by = new Map<number, WindowCount>();
  const at = (w: number) => by.get(w) ?? by.set(w, { start: w * periodMs, sure: 0, spanning: 0 }).get(w)!;
  for (const r of records.filter(admitted)) {
    const [a, b] = [windowOf(r.t0, periodMs), windowOf(r.t1, periodMs)];
    if (a === b) at(a).sure++;
    else for (let w = a; w <= b; w++) at(w).spanning++;
  }
  return [...by.values()].sort((x, y) => x.start - y.start);
}

/**
 * Whether the admitted requests can be attributed to windows, each to one its round trip touches,
 * with at most `limit` per window; when not, the first window found over it and by how many.
 */
export function admittedWithinLimit(
  records: readonly LoadRecord[],
  periodMs: number,
  limit: number,
  admitted = (r: LoadRecord) => r.status === 200,
): { ok: true } | { ok: false; window: number; over: number } {
  const spans = records.filter(admitted).map((r) => [windowOf(r.t0, periodMs), windowOf(r.t1, periodMs)] as const);
  if (!spans.length) return { ok: true };
  spans.sort((x, y) => x[0] - y[0]);
  const first = spans[0]![0];
  const last = Math.max(...spans.map((s) => s[1]));
  // Earliest deadline first: in each window, fill its `limit` places with the pending requests
  // whose span ends soonest; one still pending after its last window cannot be placed.
  let pending: number[] = []; // end windows of requests that started by now, not yet placed
  let next = 0;
  for (let w = first; w <= last; w++) {
    while (next < spans.length && spans[next]![0] === w) pending.push(spans[next++]![1]);
    pending.sort((x, y) => x - y);
    pending = pending.slice(limit);
    const late = pending.filter((end) => end === w).length;
    if (late) return { ok: false, window: w * periodMs, over: late };
  }
  return { ok: true };
}

/** Responses by status, e.g. { "200": 40, "429": 913 }: what a failed assertion should show. */
export function statusCounts(records: readonly LoadRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}
