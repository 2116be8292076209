// Property-based fuzzing of a Wasm filter in the proxy-wasm emulator (fast-check), shared by
// filters/<name>/test/fuzz.test.ts. Two targets per filter:
//   - the config parser: mutations of a valid config (wrong types at random paths, deep nesting,
//     huge strings and arrays, unicode and control characters, duplicate keys in the JSON text,
//     random JSON and bytes). Every case must end in an accepted config or a refusal whose log
//     names the field (or, for the document as a whole, says "configuration ...").
//   - the request path: random header names, values and bytes (not UTF-8 included), missing
//     pseudo-headers, oversized values, random bodies and trailers, random response headers.
//     Every case must end with the request sent on or answered locally with a 4xx.
// A trap (GuestCrashError), a request left paused, a 5xx or a case slower than CASE_BUDGET_MS
// fails the property. Runs are bounded (numRuns per property, see docs/fuzzing-filters.md); the
// seed is printed on failure by fast-check, so a run can be replayed with `seed` and `path`.
import fc from "fast-check";
import { GuestCrashError, LogLevel, ProxyWasmVm, type HeaderList, type HttpStream, type Plugin } from "../../emulator/index.js";

/**
 * A case slower than this fails: a hang (or a super-linear blow-up on a big input) shows as a
 * slow case, not as a run that never ends. Generous for a shared 2-core machine.
 */
export const CASE_BUDGET_MS = 2_000;
/**
 * numRuns for a property: `n` (the bounded run of the suite), times FUZZ_SCALE from the
 * environment for a deeper run by hand (e.g. FUZZ_SCALE=20 npx vitest run filters/jwt-auth/test/fuzz.test.ts).
 */
export function fuzzRuns(n: number): number {
  const scale = Number(process.env.FUZZ_SCALE ?? "1");
  return Math.max(1, Math.round(n * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

/** The emulated clock at the start of every fuzz VM. */
export const START_TIME = Date.UTC(2030, 0, 1);

// ---------------------------------------------------------------------------------------------
// JSON documents with parts that JSON.stringify cannot produce (duplicate keys, deep nesting).

type Json = null | boolean | number | string | Json[] | { [k: string]: Json } | Raw;
/** JSON text emitted as is. */
class Raw {
  constructor(readonly text: string) {}
}

function stringify(v: Json): string {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map(stringify).join(",")}]`;
  if (v !== null && typeof v === "object") {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${stringify(x)}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null"; // NaN and Infinity are not JSON: null, as JSON.stringify does
}

type Path = (string | number)[];

/** Every location in a document, the root ([]) first; Raw parts are leaves. */
function locations(doc: Json, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (doc instanceof Raw || doc === null || typeof doc !== "object") return out;
  const entries: [string | number, Json][] = Array.isArray(doc) ? doc.map((x, i) => [i, x]) : Object.entries(doc);
  for (const [k, x] of entries) locations(x, [...at, k], out);
  return out;
}

function getAt(doc: Json, path: Path): Json {
  let v: Json = doc;
  for (const p of path) v = (v as Record<string | number, Json>)[p] as Json;
  return v;
}

/** A copy of `doc` with the value at `path` replaced by `f(old)` (undefined deletes it). */
function updateAt(doc: Json, path: Path, f: (old: Json) => Json | undefined): Json | undefined {
  if (path.length === 0) return f(doc);
  const [head, ...rest] = path;
  if (Array.isArray(doc)) {
    const copy = doc.slice();
    const v = updateAt(copy[head as number] as Json, rest, f);
    if (v === undefined) copy.splice(head as number, 1);
    else copy[head as number] = v;
    return copy;
  }
  const copy = { ...(doc as Record<string, Json>) };
  const v = updateAt(copy[head as string] as Json, rest, f);
  if (v === undefined) delete copy[head as string];
  else copy[head as string] = v;
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Hostile values.

const chars = (s: string) => fc.constantFrom(...s.split(""));
const controlChar = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));
/** Strings that trip parsers of the small languages inside configs: regexes, templates, durations, names. */
const syntaxString = fc.oneof(
  fc.string({ unit: chars("()[]{}*+?|\\^$.,-0123456789aZ_:/ "), maxLength: 24 }),
  fc.string({
    unit: fc.constantFrom("${", "}", "$", "request.header.", "request.path", "source.ip", "route.name", "consumer.", "consumer.name", "x"),
    maxLength: 8,
  }),
  fc.constantFrom("1s", "0s", "-1s", "0ms", "1.5s", "1e9s", "99999999999h", "1m30s", "s", "", " ", "NaN", "1h1h", "25h", "0.0001ms"),
  fc.constantFrom("x-jwt-sub", "X_Jwt_Sub", ":path", ":authority", "a b", "\u0000", "é", "🙂", "x-a:b", "host", "*", "/"),
);
const hugeString = fc
  .tuple(fc.integer({ min: 1_000, max: 300_000 }), fc.constantFrom("a", "é", "🙂", "\u0000", "$", "{", "/", "-"))
  .map(([n, c]) => c.repeat(n));
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) }, // lone surrogates included
  { weight: 1, arbitrary: fc.string({ unit: controlChar, maxLength: 10 }) },
  { weight: 4, arbitrary: syntaxString },
  { weight: 1, arbitrary: hugeString },
);
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, -1, 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e308, -1e308, 1e-300, 0.5, 1_000_001),
);
/** Nesting far past any parser's depth bound, as text (an object this deep would not stringify). */
const deepNesting = fc
  .tuple(fc.integer({ min: 60, max: 6_000 }), fc.boolean())
  .map(([n, arrays]) => new Raw(arrays ? `${"[".repeat(n)}${"]".repeat(n)}` : `${'{"a":'.repeat(n)}1${"}".repeat(n)}`));

function hostileValue(original: Json): fc.Arbitrary<Json> {
  const hugeArray = fc
    .tuple(fc.integer({ min: 33, max: 20_000 }), fc.constantFrom<Json>(original, 1, "x", {}, [], null))
    .map(([n, x]) => new Array<Json>(n).fill(x));
  const manyKeys = fc.integer({ min: 33, max: 5_000 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])));
  return fc.oneof(
    { weight: 4, arbitrary: hostileString },
    { weight: 2, arbitrary: hostileNumber },
    { weight: 1, arbitrary: fc.constantFrom<Json>(true, false, null, {}, [], [original], { x: original }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
    { weight: 1, arbitrary: deepNesting },
    { weight: 1, arbitrary: hugeArray },
    { weight: 1, arbitrary: manyKeys },
  );
}

// ---------------------------------------------------------------------------------------------
// Config mutations.

type Mutation =
  | { kind: "replace" | "insert" | "duplicate"; at: number; key: string; value: Json }
  | { kind: "delete" | "wrap"; at: number }
  | { kind: "copy"; at: number; from: number };

function mutation(doc: Json): fc.Arbitrary<Mutation> {
  const n = locations(doc).length;
  const at = fc.nat({ max: n - 1 });
  const key = fc.oneof(fc.constantFrom(...knownKeys(doc)), hostileString);
  const value = at.chain((i) => hostileValue(getAt(doc, locations(doc)[i]!)));
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant("replace" as const), at, key, value }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("insert" as const), at, key, value }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), at, key, value }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom("delete" as const, "wrap" as const), at }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("copy" as const), at, from: fc.nat({ max: n - 1 }) }) },
  );
}

function knownKeys(doc: Json): string[] {
  const keys = new Set<string>();
  for (const p of locations(doc)) {
    const last = p[p.length - 1];
    if (typeof last === "string") keys.add(last);
  }
  return keys.size ? [...keys] : ["x"];
}

function applyMutation(doc: Json, m: Mutation): Json {
  const locs = locations(doc);
  const path = locs[m.at % locs.length]!;
  switch (m.kind) {
    case "replace":
      return updateAt(doc, path, () => m.value) ?? null;
    case "delete":
      return path.length === 0 ? doc : (updateAt(doc, path, () => undefined) ?? null);
    case "wrap":
      return updateAt(doc, path, (old) => [old]) ?? null;
    case "copy":
      return updateAt(doc, path, () => getAt(doc, locs[m.from % locs.length]!)) ?? null;
    case "insert":
      return (
        updateAt(doc, path, (old) => {
          if (Array.isArray(old)) return [...old, m.value];
          if (old !== null && typeof old === "object" && !(old instanceof Raw)) return { ...old, [m.key]: m.value };
          return old;
        }) ?? null
      );
    case "duplicate":
      // The same key twice in one object: only the JSON text can say that.
      return (
        updateAt(doc, path, (old) => {
          if (old === null || typeof old !== "object" || Array.isArray(old) || old instanceof Raw) return old;
          const entries = Object.entries(old);
          const [k, v] = entries.length ? entries[0]! : [m.key, m.value];
          const body = [...entries, [k, m.value] as const, [k, v] as const].map(([a, b]) => `${JSON.stringify(a)}:${stringify(b)}`);
          return new Raw(`{${body.join(",")}}`);
        }) ?? null
      );
  }
}

/** What a text edit does to the serialized config: bytes a JSON encoder would never write. */
type TextEdit = { kind: "none" } | { kind: "truncate"; at: number } | { kind: "bytes"; at: number; bytes: Uint8Array } | { kind: "bom" };

const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("bytes" as const),
      at: fc.nat(),
      bytes: fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 4 }),
        fc.constantFrom(Uint8Array.of(0xff), Uint8Array.of(0xc0, 0xaf), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0)),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "bom" as const }) },
);

function applyTextEdit(text: Uint8Array, e: TextEdit): Uint8Array {
  switch (e.kind) {
    case "none":
      return text;
    case "truncate":
      return text.subarray(0, e.at % (text.length + 1));
    case "bom":
      return Buffer.concat([Uint8Array.of(0xef, 0xbb, 0xbf), text]);
    case "bytes": {
      const at = e.at % (text.length + 1);
      return Buffer.concat([text.subarray(0, at), e.bytes, text.subarray(at)]);
    }
  }
}

/** A config case: a label for the report and the bytes the filter is configured with. */
export interface ConfigCase {
  label: string;
  bytes: Uint8Array;
}

/** A case as fast-check prints a counterexample: the label and the start of the text. */
function configCase(label: string, bytes: Uint8Array): ConfigCase {
  return {
    label,
    bytes,
    [fc.toStringMethod]: () =>
      `${label} (${bytes.length} bytes): ${JSON.stringify(Buffer.from(bytes.subarray(0, 600)).toString("latin1"))}`,
  } as ConfigCase;
}

/**
 * Configs derived from the valid `examples`: 1 to 3 mutations and maybe a text edit, or an
 * example untouched, or random JSON, or random bytes.
 */
export function mutatedConfigs(examples: object[]): fc.Arbitrary<ConfigCase> {
  const docs = examples as Json[];
  const mutated = fc.nat({ max: docs.length - 1 }).chain((i) => {
    const doc = docs[i]!;
    return fc.tuple(fc.array(mutation(doc), { minLength: 1, maxLength: 3 }), textEdit).map(([ms, edit]) => {
      // Later mutations index into the mutated document (`at` is taken modulo its size).
      const out = ms.reduce<Json>((d, m) => applyMutation(d, m), doc);
      const text = new TextEncoder().encode(stringify(out));
      return configCase(`example ${i}, ${ms.map((m) => m.kind).join("+")}, text ${edit.kind}`, applyTextEdit(text, edit));
    });
  });
  const enc = (label: string) => (s: string) => configCase(label, new TextEncoder().encode(s));
  return fc.oneof(
    { weight: 16, arbitrary: mutated },
    { weight: 1, arbitrary: fc.nat({ max: docs.length - 1 }).map((i) => enc(`example ${i}`)(JSON.stringify(docs[i]))) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 4 }).map(enc("random JSON")) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => configCase("random bytes", bytes)) },
  );
}

/** A refusal message is located when it names a field path, or speaks of the configuration as a whole. */
const LOCATED = /^(configuration\b|[\w:-]+([.[].*?)?: )/;
/** Longest error line accepted: whatever the input, what the filter logs stays bounded. */
export const MAX_ERROR_LINE = 16 * 1024;

export type ConfigOutcome = "accepted" | "refused";

/**
 * Configures a fresh VM with `bytes` and checks the outcome: accepted, or refused with every
 * message of the error line located and the line bounded. Throws (failing the property) on a
 * trap or an unlocated refusal. An accepted config then serves `request`, if given: odd but valid
 * configs (empty templates, edge-case regexes) meet traffic too.
 */
export function configureCase(module: WebAssembly.Module, filter: string, c: ConfigCase, request?: FuzzRequest): ConfigOutcome {
  const vm = new ProxyWasmVm(module, { headerBytes: "latin1", startTime: START_TIME });
  const started = performance.now();
  let p: Plugin;
  try {
    p = vm.configurePlugin({ config: c.bytes, rootId: filter, name: filter });
  } catch (e) {
    if (e instanceof GuestCrashError) throw new Error(`${filter} trapped on a config (${c.label}): ${e.message}`);
    throw e;
  }
  checkBudget(started, `${filter} config (${c.label})`);
  if (p.ok) {
    if (request) runRequest(filter, vm, p, request);
    return "accepted";
  }
  const prefix = `${filter}: invalid configuration: `;
  const line = vm.logs.find((l) => l.level >= LogLevel.Error && l.message.startsWith(prefix));
  if (!line)
    throw new Error(`${filter} refused a config (${c.label}) without its error line; logs: ${JSON.stringify(vm.logs.slice(0, 3))}`);
  const first = line.message.slice(prefix.length);
  if (!LOCATED.test(first)) throw new Error(`${filter} refused a config (${c.label}) without naming a field: ${first.slice(0, 300)}`);
  if (line.message.length > MAX_ERROR_LINE)
    throw new Error(`${filter} logged a ${line.message.length}-character error line (${c.label}): ${line.message.slice(0, 300)}...`);
  return "refused";
}

function checkBudget(started: number, what: string): void {
  const ms = performance.now() - started;
  if (ms > CASE_BUDGET_MS) throw new Error(`${what} took ${ms.toFixed(0)} ms (budget ${CASE_BUDGET_MS} ms): a hang in the making`);
}

// ---------------------------------------------------------------------------------------------
// Requests. The fuzz VMs use header bytes "latin1": a header string is its bytes, one char each,
// so values can be bytes that are not UTF-8 (Envoy forwards obs-text as it came).

/** A string's UTF-8 bytes as a byte string (one char per byte). */
const utf8Bytes = (s: string) => Buffer.from(s, "utf8").toString("latin1");
const byteString = (max: number) =>
  fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: max });
const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

export function headerNames(known: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...known) },
    // The spellings a lenient upstream folds together.
    { weight: 2, arbitrary: fc.constantFrom(...known).map((n) => n.replaceAll("-", "_")) },
    { weight: 3, arbitrary: fc.string({ unit: chars(TOKEN_CHARS), minLength: 1, maxLength: 30 }) },
    { weight: 1, arbitrary: fc.constant("") },
    { weight: 1, arbitrary: byteString(20) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 10 }).map(utf8Bytes) },
    { weight: 1, arbitrary: fc.integer({ min: 300, max: 20_000 }).map((n) => "x".repeat(n)) },
  );
}

export function headerValues(known: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: known },
    { weight: 3, arbitrary: fc.string({ maxLength: 60 }).map(utf8Bytes) },
    { weight: 2, arbitrary: byteString(60) }, // not UTF-8 as often as not
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }).map(utf8Bytes) },
    { weight: 1, arbitrary: fc.constant("") },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 1_000, max: 200_000 }), fc.constantFrom("a", ",", ";", "=", " ", "\xff", "%", "."))
        .map(([n, c]) => c.repeat(n)),
    },
  );
}

const pathValues = fc.oneof(
  fc.constantFrom(
    "/",
    "/api/x",
    "/public/a",
    "/a?b=1&b=2",
    "/a?%zz=%zz&=&&",
    "*",
    "",
    "//a//b",
    "/../..%2F",
    "/a#frag",
    "/?",
    "http://h/x",
  ),
  fc.string({ unit: chars("/?&=%#.;abcxyz09_-"), maxLength: 40 }).map((s) => `/${s}`),
  byteString(40),
  fc.integer({ min: 1_000, max: 100_000 }).map((n) => `/${"a/".repeat(n / 2)}?${"q=1&".repeat(n / 4)}`),
);

export interface FuzzRequest {
  headers: HeaderList;
  body: Uint8Array | undefined;
  trailers: HeaderList | undefined;
  response: HeaderList;
  responseBody: Uint8Array | undefined;
  sourceAddress: string | undefined;
  routeName: string | undefined;
  /**
   * The caller's identity in filter state, as an auth filter earlier in the chain would leave it
   * (docs/consumers.md): usually well formed, sometimes any bytes, so readers never trust its shape.
   */
  identity?: { consumer: string; groups: string; credential: string } | undefined;
  advanceMs: number;
}

export interface RequestSpace {
  /** Header names the filter's config refers to (and their spellings), drawn most often. */
  names: string[];
  /** Values worth drawing for them (tokens, IP lists, cookies...). */
  values: fc.Arbitrary<string>;
  /** Paths worth drawing besides the generic ones (e.g. with a token in the query). */
  paths?: fc.Arbitrary<string>;
}

/** Consumer identities: the names the rich configs use, and values no auth filter would write. */
const identities = fc.record({
  consumer: fc.oneof(fc.constantFrom("alice", "bob", "guest", "", "a,b", "10.0.0.1"), byteString(40), hugeString),
  groups: fc.oneof(
    fc.array(fc.constantFrom("gold", "free", "beta", "golden", ""), { maxLength: 4 }).map((g) => `,${g.join(",")}${g.length ? "," : ""}`),
    fc.constantFrom("", ",", ",,", "gold", ",gold"),
    byteString(40),
  ),
  credential: fc.oneof(fc.constantFrom("key:k1", "jwt:idp", "anonymous", ""), byteString(20)),
});

/** Random requests and upstream responses: any pseudo-header may be missing or repeated. */
export function requests(space: RequestSpace): fc.Arbitrary<FuzzRequest> {
  const name = headerNames(space.names);
  const value = headerValues(space.values);
  const pseudo = (n: string, v: fc.Arbitrary<string>) =>
    fc.option(
      fc.array(
        v.map((x): [string, string] => [n, x]),
        { minLength: 1, maxLength: 2 },
      ),
      { freq: 5 },
    );
  const headers = fc
    .tuple(
      pseudo(":method", fc.oneof(fc.constantFrom("GET", "POST", "DELETE", "HEAD", "OPTIONS", "get", ""), byteString(10))),
      pseudo(":path", space.paths ? fc.oneof(pathValues, space.paths) : pathValues),
      pseudo(":authority", fc.oneof(fc.constantFrom("api.example.test", "", "a:b:c", "[::1]:80"), value)),
      pseudo(":scheme", fc.constantFrom("https", "http", "")),
      fc.array(fc.tuple(name, value), { maxLength: 12 }),
    )
    .map(([m, p, a, s, rest]): HeaderList => [...(m ?? []), ...(p ?? []), ...(a ?? []), ...(s ?? []), ...rest]);
  const body = fc.option(
    fc.oneof(
      fc.uint8Array({ maxLength: 2_048 }),
      fc.integer({ min: 10_000, max: 300_000 }).map((n) => new Uint8Array(n).fill(0x7b)),
    ),
    { freq: 3 },
  );
  const trailers = fc.option(fc.array(fc.tuple(name, value), { maxLength: 3 }), { freq: 6 });
  const response = fc
    .tuple(fc.constantFrom("200", "404", "503", "", "abc"), fc.array(fc.tuple(name, value), { maxLength: 6 }))
    .map(([status, rest]): HeaderList => [[":status", status], ...rest]);
  return fc.record({
    headers,
    body: body.map((b) => b ?? undefined),
    trailers: trailers.map((t) => t ?? undefined),
    response,
    responseBody: fc.option(fc.uint8Array({ maxLength: 1_024 }), { freq: 3 }).map((b) => b ?? undefined),
    sourceAddress: fc
      .option(fc.oneof(fc.constantFrom("10.0.0.1:5000", "[2001:db8::1]:443", "2001:db8::1", "garbage", ""), byteString(30)), { freq: 6 })
      .map((a) => a ?? undefined),
    routeName: fc.option(fc.constantFrom("default", "orders", "admin", ""), { freq: 2 }).map((r) => r ?? undefined),
    identity: fc.option(identities, { freq: 2 }).map((i) => i ?? undefined),
    // Mostly none, so that buckets and caches fill up; sometimes up to two minutes.
    advanceMs: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 120_000 }) }),
  });
}

/**
 * Runs one request and response through a configured filter. Returns "upstream" or the local
 * reply's status; throws on a trap, a request left paused, a non-4xx local reply or a slow case.
 */
export function runRequest(filter: string, vm: ProxyWasmVm, plugin: Plugin, r: FuzzRequest): "upstream" | number {
  const started = performance.now();
  let s: HttpStream | undefined;
  try {
    vm.advanceTime(r.advanceMs);
    const properties: Record<string, string> = {};
    if (r.sourceAddress !== undefined) properties["source.address"] = r.sourceAddress;
    if (r.routeName !== undefined) properties["xds.route_name"] = r.routeName;
    if (r.identity !== undefined) {
      properties.portico_consumer = r.identity.consumer;
      properties.portico_consumer_groups = r.identity.groups;
      properties.portico_credential = r.identity.credential;
    }
    s = plugin.newHttpStream({ properties });
    const noMore = r.body === undefined && r.trailers === undefined;
    s.sendRequestHeaders(r.headers, { endOfStream: noMore });
    if (r.body !== undefined) s.sendRequestBody(r.body, { endOfStream: r.trailers === undefined });
    if (r.trailers !== undefined) s.sendRequestTrailers(r.trailers);
    // A callout the filter waits for (e.g. a remote key set) fails, as with an unreachable cluster.
    for (const call of vm.pendingHttpCalls) vm.failHttpCall(call.token);
    if (s.paused && !s.localResponse) throw new Error(`${filter} left the request paused`);
    if (!s.localResponse && !s.reset) {
      s.sendResponseHeaders(r.response, { endOfStream: r.responseBody === undefined });
      if (r.responseBody !== undefined) s.sendResponseBody(r.responseBody, { endOfStream: true });
    }
    s.complete();
  } catch (e) {
    if (e instanceof GuestCrashError) throw new Error(`${filter} trapped on a request: ${e.message}`);
    throw e;
  }
  checkBudget(started, `${filter} request`);
  const local = s.localResponse;
  if (!local) return "upstream";
  if (local.status < 400 || local.status > 499) throw new Error(`${filter} answered ${local.status}, not a 4xx`);
  return local.status;
}

/** One configured filter in a VM, rebuilt after a crash (a crashed VM stays failed, as in Envoy). */
export class FuzzTarget {
  private vm: ProxyWasmVm | undefined;
  private plugin: Plugin | undefined;

  constructor(
    private readonly module: WebAssembly.Module,
    private readonly filter: string,
    private readonly config: object,
  ) {}

  private current(): { vm: ProxyWasmVm; plugin: Plugin } {
    if (!this.vm || !this.plugin || this.vm.failure) {
      this.vm = new ProxyWasmVm(this.module, { headerBytes: "latin1", startTime: START_TIME });
      this.plugin = this.vm.configurePlugin({ config: JSON.stringify(this.config), rootId: this.filter, name: this.filter });
      if (!this.plugin.ok) throw new Error(`${this.filter}: the fuzz config is refused: ${JSON.stringify(this.vm.logs)}`);
    }
    return { vm: this.vm, plugin: this.plugin };
  }

  /** Runs one request and response through the filter (runRequest). */
  run(r: FuzzRequest): "upstream" | number {
    const { vm, plugin } = this.current();
    return runRequest(this.filter, vm, plugin, r);
  }

  /** Linear memory of the current VM, to show the runs did not leak without bound. */
  memoryBytes(): number {
    return this.current().vm.memoryBytes();
  }
}

/** Tallies outcomes by label and prints one line per property, so the suite log says how many cases ran. */
export class Tally {
  private readonly counts = new Map<string, number>();
  private readonly started = performance.now();

  constructor(private readonly what: string) {}

  add(outcome: string): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
  }

  get total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  report(): string {
    const parts = [...this.counts].map(([k, v]) => `${v} ${k}`).join(", ");
    const line = `fuzz ${this.what}: ${this.total} cases (${parts}) in ${((performance.now() - this.started) / 1000).toFixed(1)} s`;
    console.log(line);
    return line;
  }
}

/**
 * The config-parser property of a filter: each of `examples` must be accepted as it is, then
 * `numRuns` mutations of them (each with a random request when accepted) must each be accepted
 * or refused naming the field. Prints the tally; returns how many cases ran.
 */
export function fuzzConfigParser(
  module: WebAssembly.Module,
  filter: string,
  examples: object[],
  space: RequestSpace,
  numRuns: number,
): number {
  for (const [i, e] of examples.entries()) {
    const outcome = configureCase(module, filter, { label: "valid", bytes: Buffer.from(JSON.stringify(e)) });
    if (outcome !== "accepted") throw new Error(`${filter}: example config ${i} was refused, so its mutations prove nothing`);
  }
  const tally = new Tally(`${filter} config parser`);
  fc.assert(
    fc.property(mutatedConfigs(examples), requests(space), (c, r) => {
      tally.add(configureCase(module, filter, c, r));
    }),
    // A failure ends the run at once, with its seed: shrinking cases that each configure a Wasm VM
    // (some with half-megabyte configs) can outlast CI. Replay the seed by hand to shrink.
    { numRuns, endOnFailure: true },
  );
  tally.report();
  return tally.total;
}

/**
 * The request-path property of a filter configured with `config`: every case of `cases` must end
 * upstream or in a local 4xx (FuzzTarget.run fails on a trap, a pause or a 5xx). Prints the tally
 * under `what`; returns how many cases ran.
 */
export function fuzzRequestPath(
  module: WebAssembly.Module,
  filter: string,
  config: object,
  cases: fc.Arbitrary<FuzzRequest>,
  what: string,
  numRuns: number,
): number {
  const target = new FuzzTarget(module, filter, config);
  const tally = new Tally(what);
  fc.assert(
    fc.property(cases, (r) => {
      const outcome = target.run(r);
      tally.add(outcome === "upstream" ? "sent upstream" : `answered ${outcome}`);
    }),
    // A failure ends the run at once, with its seed: shrinking cases that each configure a Wasm VM
    // (some with half-megabyte configs) can outlast CI. Replay the seed by hand to shrink.
    { numRuns, endOnFailure: true },
  );
  tally.report();
  return tally.total;
}
