// basic-auth in a real Envoy 1.40 with two worker threads: bcrypt and {SHA} users, the identity
// to the upstream and spoofed identity headers removed, the 401s and their realm, malformed
// Authorization headers (two of them, very long, bad base64), anonymous callers, the cache (a
// correct login costs one bcrypt per worker), the verification budget's 429, a refused
// configuration named in Envoy's log, and the shipped example config.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcryptjs from "bcryptjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bootstrap,
  echoedHeader,
  filterWasm,
  httpListener,
  loadExampleConfig,
  parseEcho,
  pollUntil,
  request,
  staticCluster,
  startEnvoyExpectFailure,
  useEchoUpstream,
  useEnvoy,
  wasmHttpFilter,
  type EchoUpstream,
  type Envoy,
  type HttpResponse,
  type Json,
} from "../support/index.js";

const WASM = filterWasm("basic-auth");
const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");

const ALICE_PW = "alice in wonderland";
const CAROL_PW = "carol:with:colons";
const ALICE_HASH = bcryptjs.hashSync(ALICE_PW, 6);
const CAROL_SHA = `{SHA}${createHash("sha1").update(CAROL_PW).digest("base64")}`;
const REALM = 'Basic realm="e2e", charset="UTF-8"';

const consumers = (): Json[] => [
  { name: "alice", groups: ["gold", "beta"], basic: [{ username: "alice", hash: ALICE_HASH }] },
  { name: "carol", basic: [{ username: "carol", hash: CAROL_SHA }] },
  { name: "guest", groups: ["free"] },
];

function basicAuth(config: Json, name: string): Json {
  return wasmHttpFilter({ file: WASM, name, rootId: "basic-auth", vmId: name, configuration: config });
}

const authorization = (credentials: string | Buffer, scheme = "Basic"): [string, string] => [
  "authorization",
  `${scheme} ${Buffer.from(credentials).toString("base64")}`,
];

/** A listener whose access log writes the identity from filter state, one line per request. */
function withAccessLog(l: Json, path: string): Json {
  const hcm = ((l.filter_chains as Json[])[0]!.filters as Json[])[0]!.typed_config as Json;
  hcm.access_log = [
    {
      name: "envoy.access_loggers.file",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
        path,
        log_format: {
          text_format_source: {
            inline_string:
              "%REQ(x-test-id)% %FILTER_STATE(wasm.portico_consumer:PLAIN)% %FILTER_STATE(wasm.portico_consumer_groups:PLAIN)% %FILTER_STATE(wasm.portico_credential:PLAIN)%\n",
          },
        },
      },
    },
  ];
  return l;
}

let e: Envoy;
let up: EchoUpstream;
const accessLog = join(tmpdir(), `basic-auth-e2e-${process.pid}-${Date.now()}.log`);
afterAll(() => rmSync(accessLog, { force: true }));

beforeAll(async () => {
  up = await upstream();
  e = await envoy({
    name: "basic-auth",
    concurrency: 2,
    config: bootstrap({
      listeners: [
        withAccessLog(
          httpListener({
            name: "main",
            httpFilters: [basicAuth({ stat_prefix: "main", realm: "e2e", consumers: consumers() }, "basic_main")],
          }),
          accessLog,
        ),
        httpListener({
          name: "anon",
          httpFilters: [basicAuth({ stat_prefix: "anon", realm: "e2e", consumers: consumers(), anonymous: "guest" }, "basic_anon")],
        }),
      ],
      clusters: [staticCluster("upstream", up.port)],
    }),
  });
}, 120_000);

const send = (headers: [string, string][] = [], listener = "main"): Promise<HttpResponse> =>
  request(e.url("/api/items", listener), { headers: [["host", "api.example.test"], ...headers] });

const counter = async (name: string): Promise<number> => (await e.stat(`wasmcustom.portico.basic_auth.${name}`)) ?? 0;

function expectRefused(res: HttpResponse, what: string, error = "invalid_credentials"): void {
  expect(res.status, `${what}: ${res.body}`).toBe(401);
  expect(res.header("www-authenticate"), what).toBe(REALM);
  expect(res.json(), what).toEqual({ error });
}

describe("basic-auth in Envoy", () => {
  it("admits a bcrypt user as its consumer: identity headers upstream, Authorization and spoofed identity removed", async () => {
    const res = await send([
      authorization(`alice:${ALICE_PW}`),
      ["x-consumer-name", "admin"],
      ["X_Consumer_Name", "admin"],
      ["x-credential-identifier", "key:admin"],
    ]);
    expect(res.status, res.body).toBe(200);
    const seen = parseEcho(res.body);
    expect(echoedHeader(seen, "x-consumer-name")).toEqual(["alice"]);
    expect(echoedHeader(seen, "x-consumer-groups")).toEqual(["gold,beta"]);
    expect(echoedHeader(seen, "x-credential-identifier")).toEqual(["basic:alice"]);
    expect(echoedHeader(seen, "x_consumer_name")).toEqual([]);
    expect(echoedHeader(seen, "authorization")).toEqual([]);
  });

  it("writes the identity to filter state, which Envoy's access log reads (wasm.portico_consumer)", async () => {
    expect((await send([authorization(`alice:${ALICE_PW}`), ["x-test-id", "fs-ok"]])).status).toBe(200);
    expect((await send([authorization("alice:wrong"), ["x-test-id", "fs-refused"]])).status).toBe(401);
    const lines = await pollUntil(
      // Envoy creates and flushes the file on its own schedule.
      async () => (existsSync(accessLog) ? readFileSync(accessLog, "utf8").split("\n") : []),
      (l) => l.some((x) => x.startsWith("fs-ok ")) && l.some((x) => x.startsWith("fs-refused ")),
      { what: "both access log lines" },
    );
    expect(lines.find((x) => x.startsWith("fs-ok "))).toBe("fs-ok alice ,gold,beta, basic:alice");
    expect(lines.find((x) => x.startsWith("fs-refused "))).toBe("fs-refused - - -");
  });

  it("admits a {SHA} user whose password has colons, with the scheme in lower case", async () => {
    const res = await send([authorization(`carol:${CAROL_PW}`, "basic")]);
    expect(res.status, res.body).toBe(200);
    expect(echoedHeader(parseEcho(res.body), "x-consumer-name")).toEqual(["carol"]);
  });

  it("refuses missing, wrong and malformed credentials with 401 and the realm", async () => {
    expectRefused(await send(), "no Authorization", "missing_credentials");
    expectRefused(await send([["authorization", "Bearer a.b.c"]]), "another scheme", "missing_credentials");
    const cases: [string, [string, string][]][] = [
      ["wrong password", [authorization("alice:wrong")]],
      ["password with a trailing space", [authorization(`alice:${ALICE_PW} `)]],
      ["username in another case", [authorization(`ALICE:${ALICE_PW}`)]],
      ["empty password", [authorization("alice:")]],
      ["no colon", [authorization("alice")]],
      ["Basic alone", [["authorization", "Basic"]]],
      ["bad base64", [["authorization", "Basic @@@@"]]],
      ["non-UTF-8 password", [authorization(Buffer.concat([Buffer.from("alice:"), Buffer.from([0xff, 0xfe, 0x80])]))]],
      ["very long", [authorization(`alice:${"x".repeat(6000)}`)]],
      ["two Authorization headers", [authorization(`alice:${ALICE_PW}`), authorization(`alice:${ALICE_PW}`)]],
    ];
    for (const [what, headers] of cases) expectRefused(await send(headers), what);
  });

  it("admits a request without credentials as the anonymous consumer, and still refuses a wrong password", async () => {
    const res = await send([["x-consumer-name", "admin"]], "anon");
    expect(res.status, res.body).toBe(200);
    const seen = parseEcho(res.body);
    expect(echoedHeader(seen, "x-consumer-name")).toEqual(["guest"]);
    expect(echoedHeader(seen, "x-consumer-groups")).toEqual(["free"]);
    expect(echoedHeader(seen, "x-credential-identifier")).toEqual(["anonymous"]);
    expectRefused(await send([authorization("alice:wrong")], "anon"), "wrong password with anonymous");
  });

  it("checks a correct bcrypt password at most once per worker, then answers from the cache", async () => {
    const before = await counter("main.verifications_total");
    const hitsBefore = await counter("main.cache_hits_total");
    // A user no other test logs in as.
    const n = 12;
    for (let i = 0; i < n; i++) expect((await send([authorization(`alice:${ALICE_PW}`)])).status).toBe(200);
    const checks = (await counter("main.verifications_total")) - before;
    const hits = (await counter("main.cache_hits_total")) - hitsBefore;
    // alice may already be cached by a worker from the first test; two workers, two checks at most.
    expect(checks).toBeLessThanOrEqual(2);
    expect(hits).toBe(n - checks);
  });
});

describe("the verification budget in Envoy", () => {
  it("answers 429 with Retry-After: 1 once a worker's bcrypt checks per second are spent; a cached login still passes", async () => {
    // One worker, one check a second: deterministic.
    const one = await envoy({
      name: "basic-auth-budget",
      concurrency: 1,
      config: bootstrap({
        listeners: [
          httpListener({
            name: "main",
            httpFilters: [
              basicAuth({ stat_prefix: "budget", realm: "e2e", consumers: consumers(), max_verifications_per_second: 1 }, "basic_budget"),
            ],
          }),
        ],
        clusters: [staticCluster("upstream", up.port)],
      }),
    });
    const go = (headers: [string, string][]) => request(one.url("/x"), { headers: [["host", "api.example.test"], ...headers] });
    expect((await go([authorization(`alice:${ALICE_PW}`)])).status).toBe(200); // the second's one check: alice cached
    const t0 = performance.now();
    const guesses: HttpResponse[] = [];
    for (let i = 0; i < 5; i++) guesses.push(await go([authorization(`alice:guess-${i}`)]));
    const elapsedS = (performance.now() - t0) / 1000;
    const statuses = JSON.stringify(guesses.map((r) => r.status));
    // The first login took the one token; at most one more accrues per second that passed.
    const allowedChecks = Math.ceil(elapsedS) + 1;
    const throttled = guesses.filter((r) => r.status === 429);
    expect(throttled.length, statuses).toBeGreaterThanOrEqual(Math.max(1, 5 - allowedChecks));
    expect(
      guesses.every((r) => r.status === 401 || r.status === 429),
      statuses,
    ).toBe(true);
    expect(throttled[0]!.header("retry-after")).toBe("1");
    expect(throttled[0]!.json()).toEqual({ error: "too_many_password_checks" });
    expect((await go([authorization(`alice:${ALICE_PW}`)])).status).toBe(200);
    expect((await one.stat("wasmcustom.portico.basic_auth.budget.verify_throttled_total")) ?? 0).toBeGreaterThan(0);
  });
});

describe("basic-auth configuration errors in Envoy", () => {
  it("refuses an unsupported hash format at start, naming the field and the format, never the hash", async () => {
    const hash = "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/";
    const failure = await startEnvoyExpectFailure(
      bootstrap({
        listeners: [
          httpListener({
            name: "bad",
            httpFilters: [basicAuth({ consumers: [{ name: "a", basic: [{ username: "a", hash }] }] }, "basic_bad")],
            directResponse: { status: 200 },
          }),
        ],
      }),
      { name: "basic-auth-bad" },
    );
    expect(failure.code).not.toBe(0);
    const errorLines = failure.logs.split("\n").filter((l) => /\[error\]/.test(l));
    const named = errorLines.filter(
      (l) => l.includes("basic-auth: invalid configuration") && l.includes("consumers[0].basic[0].hash") && l.includes("Apache MD5"),
    );
    expect(named.length, errorLines.join("\n")).toBeGreaterThan(0);
    expect(failure.logs.includes("HqJZimcKQFAMYayBlzkrA")).toBe(false);
  });
});

describe("basic-auth example config (envoy-configs/basic-auth.yaml)", () => {
  it("does what its try: lines say", async () => {
    const ex = await envoy({ name: "basic-auth-example", config: loadExampleConfig("basic-auth.yaml", { upstreamPort: up.port }) });
    const go = (headers: [string, string][] = []) => request(ex.url("/api/profile"), { headers });
    const ok = await go([authorization("alice:alice-secret")]);
    expect(ok.status, ok.body).toBe(200);
    const seen = parseEcho(ok.body);
    expect(echoedHeader(seen, "x-consumer-name")).toEqual(["alice"]);
    expect(echoedHeader(seen, "x-consumer-groups")).toEqual(["gold"]);
    expect(echoedHeader(seen, "x-credential-identifier")).toEqual(["basic:alice"]);
    expect(echoedHeader(seen, "authorization")).toEqual([]);
    const wrong = await go([authorization("alice:wrong")]);
    expect(wrong.status).toBe(401);
    expect(wrong.header("www-authenticate")).toBe('Basic realm="portico demo", charset="UTF-8"');
    expect(wrong.json()).toEqual({ error: "invalid_credentials" });
    const anon = await go();
    expect(anon.status).toBe(200);
    expect(echoedHeader(parseEcho(anon.body), "x-consumer-name")).toEqual(["guest"]);
    expect(echoedHeader(parseEcho(anon.body), "x-credential-identifier")).toEqual(["anonymous"]);
    expect((await go([authorization("alice:alice-secret")])).status).toBe(200);
    expect((await ex.stat("wasmcustom.portico.basic_auth.demo.cache_hits_total")) ?? 0).toBeGreaterThan(0);
  });
});
