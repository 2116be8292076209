// `portico status`: asks a running control plane for GET /status and shows, per Envoy node, its
// streams and, per resource type, the version sent, the version ACKed and the last NACK.
// The rendering is a pure function of the JSON, so it is tested without a server.
import { isTypeUrl, PUSH_ORDER, shortTypeName, xdsType } from "../xds/types.js";

/** The JSON GET /status answers (control-plane.ts status()); every part may be missing in an older build. */
export interface StatusReport {
  config?: {
    path?: string;
    applied?: Outcome | null;
    lastAttempt?: Outcome | null;
    pushes?: number;
  };
  envoys?: NodeReport[];
  /** The rate limit service for global rate limits; `xds` when it subscribes to the control plane. */
  rateLimitService?: { state?: string; pid?: number | null; grpc?: string; xds?: NodeReport };
}

interface Outcome {
  ok: boolean;
  origin?: string;
  at?: string;
  kind?: string;
  changedTypes?: string[];
  error?: string;
}

interface NodeReport {
  nodeId: string;
  cluster?: string;
  userAgent?: string;
  connectedStreams?: number;
  connectedSince?: string | null;
  types?: Record<string, TypeReport | undefined>;
}

interface TypeReport {
  versionSent: string | null;
  versionAcked: string | null;
  lastNack: { version: string; message: string; at: string } | null;
}

export interface StatusCommandOptions {
  /** The control plane's HTTP address, e.g. http://127.0.0.1:18001 (a trailing /status is accepted). */
  url: string;
  /** Sent as `Authorization: Bearer <token>` (an admin API that requires one). */
  token?: string;
  /** Print the JSON as received instead of the table. */
  json?: boolean;
  /** Where output goes (tests); default process.stdout / process.stderr. */
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** Give up after this long (default 5000 ms). */
  timeoutMs?: number;
}

/** Fetches /status and prints it; resolves with the exit code (0 shown, 1 unreachable or refused). */
export async function statusCommand(o: StatusCommandOptions): Promise<number> {
  const out = o.out ?? ((t: string) => void process.stdout.write(t));
  const err = o.err ?? ((t: string) => void process.stderr.write(t));
  const url = statusUrl(o.url);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: "application/json", ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
      signal: AbortSignal.timeout(o.timeoutMs ?? 5_000),
    });
  } catch (e) {
    err(`portico status: cannot reach the control plane at ${url}: ${reasonOf(e)}\n`);
    return 1;
  }
  const body = await res.text();
  if (!res.ok) {
    const hint = res.status === 401 || res.status === 403 ? " (pass --token)" : "";
    err(`portico status: ${url} answered ${res.status}${hint}: ${body.trim().slice(0, 500)}\n`);
    return 1;
  }
  let report: unknown;
  try {
    report = JSON.parse(body);
  } catch {
    err(`portico status: ${url} did not answer JSON: ${body.trim().slice(0, 200)}\n`);
    return 1;
  }
  if (typeof report !== "object" || report === null || Array.isArray(report)) {
    err(`portico status: ${url} answered JSON that is not a status report\n`);
    return 1;
  }
  out(o.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatusTable(report as StatusReport));
  return 0;
}

/** "http://h:p", "h:p" or ".../status" → the /status URL. */
export function statusUrl(base: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(base) ? base : `http://${base}`;
  const u = new URL(withScheme);
  if (!u.pathname.endsWith("/status")) u.pathname = `${u.pathname.replace(/\/+$/, "")}/status`;
  return u.toString();
}

function reasonOf(e: unknown): string {
  if (e instanceof Error) {
    // fetch wraps the socket error: ECONNREFUSED and friends are in `cause`.
    const cause = (e as Error & { cause?: unknown }).cause;
    if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
    if (e.name === "TimeoutError") return "timed out";
    return e.message;
  }
  return String(e);
}

/** The xDS API and the type, as Envoy's own docs and logs name them ("CDS Cluster"). */
function typeLabel(typeUrl: string): string {
  const type = xdsType(typeUrl);
  return type ? `${type.api} ${type.short}` : shortTypeName(typeUrl);
}

/** Rows in push order; unknown types last. */
function typeOrder(typeUrl: string): number {
  return isTypeUrl(typeUrl) ? PUSH_ORDER.indexOf(typeUrl) : PUSH_ORDER.length;
}

/** What a type's row says about it: in sync, waiting for Envoy, or refused. */
function typeState(t: TypeReport, connected: boolean): string {
  if (t.lastNack && t.lastNack.version === t.versionSent) return "NACKED";
  if (t.versionSent === null) return t.versionAcked === null ? "-" : "ACKED"; // resumed: Envoy already had it
  if (t.versionAcked === t.versionSent) return "ACKED";
  return connected ? "pending" : "not ACKed";
}

function outcomeLine(o: Outcome | null | undefined): string {
  if (!o) return "-";
  const when = o.at ? ` at ${o.at}` : "";
  const from = o.origin ? ` (${o.origin})` : "";
  if (o.ok) return `ok, ${o.kind ?? "applied"}${when}${from}`;
  const first = (o.error ?? "").split("\n").find((l) => l.trim() !== "") ?? "";
  return `REJECTED${when}${from}: ${first.trim()}`;
}

/** A plain-text table: columns padded to their widest cell, two spaces apart. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** The status report as text: the config in force, then one row per node and resource type, then the NACK messages. */
export function renderStatusTable(status: StatusReport): string {
  const lines: string[] = [];
  const c = status.config ?? {};
  lines.push(`config:        ${c.path ?? "-"}`);
  lines.push(`last apply:    ${outcomeLine(c.applied)}`);
  // A good last attempt is the last apply; a bad one (a save kept out by validation) is news.
  if (c.lastAttempt && !c.lastAttempt.ok) {
    lines.push(`last attempt:  ${outcomeLine(c.lastAttempt)}`);
  }
  lines.push(`pushes:        ${c.pushes ?? 0}`);
  lines.push("");

  const envoys = [...(status.envoys ?? [])].sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  if (envoys.length === 0) {
    lines.push("no Envoy has connected yet (join one with `portico bootstrap --node NAME`)");
    return `${lines.join("\n")}\n`;
  }
  const connected = envoys.filter((n) => (n.connectedStreams ?? 0) > 0).length;
  lines.push(`envoys:        ${connected} connected, ${envoys.length - connected} disconnected`);
  const rls = status.rateLimitService;
  if (rls)
    lines.push(
      `rate limits:   service ${rls.state ?? "external"}${rls.pid ? ` (pid ${rls.pid})` : ""}${rls.grpc ? ` at ${rls.grpc}` : ""}`,
    );
  lines.push("");

  const rows: string[][] = [];
  const nacks: string[] = [];
  // The service takes its config over xDS like an Envoy: its row shows that config sent and ACKed.
  for (const n of rls?.xds ? [...envoys, rls.xds] : envoys) {
    const streams = n.connectedStreams ?? 0;
    const nodeCells = [n.nodeId, n.cluster ?? "-", streams > 0 ? String(streams) : "0 (disconnected)", n.connectedSince ?? "-"];
    const types = Object.entries(n.types ?? {})
      .filter((e): e is [string, TypeReport] => e[1] !== undefined)
      .sort(([a], [b]) => typeOrder(a) - typeOrder(b));
    if (types.length === 0) rows.push([...nodeCells, "-", "-", "-", "-"]);
    types.forEach(([typeUrl, t], i) => {
      rows.push([
        ...(i === 0 ? nodeCells : ["", "", "", ""]),
        typeLabel(typeUrl),
        t.versionSent ?? "-",
        t.versionAcked ?? "-",
        typeState(t, streams > 0),
      ]);
      if (t.lastNack) {
        const still = t.lastNack.version === t.versionSent ? "" : " (since superseded)";
        nacks.push(
          `  ${n.nodeId}  ${typeLabel(typeUrl)}  ${t.lastNack.version}  at ${t.lastNack.at}${still}\n    ${t.lastNack.message.trim().replace(/\n/g, "\n    ")}`,
        );
      }
    });
  }
  lines.push(table(["NODE", "CLUSTER", "STREAMS", "CONNECTED SINCE", "TYPE", "SENT", "ACKED", "STATE"], rows));
  if (nacks.length) lines.push("", "last NACK per node and type (Envoy kept its previous config):", ...nacks);
  return `${lines.join("\n")}\n`;
}
