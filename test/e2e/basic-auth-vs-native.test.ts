// Differential test: the same users for our basic-auth ({SHA} hashes, the one format both read)
// and for Envoy's native envoy.filters.http.basic_auth (the same lines as an htpasswd file in
// users.inline_string), on two listeners of one Envoy, hit by the same corpus of good and bad
// credentials. The native filter is the oracle for the verdict (200 or 401). Where we differ, we
// do so by design, and each difference is listed here (and in filters/basic-auth/README.md) and
// asserted both ways, so that a change on either side shows up:
//   - the scheme: RFC 7235 makes it case-insensitive and allows several spaces before the
//     credentials; native accepts exactly "Basic " (so "basic", "BASIC", "Basic  x" are 401 there);
//   - length: we read at most 4 KiB of Authorization (a bound on the work per request); native
//     reads what Envoy's header limits let through;
//   - the 401's WWW-Authenticate realm: ours is the configured realm; native's is the request URI.
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  bootstrap,
  filterWasm,
  httpListener,
  request,
  staticCluster,
  useEchoUpstream,
  useEnvoy,
  wasmHttpFilter,
  type Envoy,
} from "../support/index.js";

const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");

const sha = (pw: string | Buffer) => `{SHA}${createHash("sha1").update(pw).digest("base64")}`;

const NON_UTF8 = Buffer.from([0xff, 0xfe, 0x78, 0xc3, 0x28]);
const LONG_OK = "l".repeat(2000); // Authorization of about 2.7 KB: both read it
const LONG_OVER = "o".repeat(3400); // about 4.5 KB: over our 4 KiB bound
const USERS: [string, string | Buffer][] = [
  ["alice", "Secret123"],
  ["bob", "pass:with:colons"],
  ["carol", " spaced password "],
  ["dave", NON_UTF8],
  ["long", LONG_OK],
  ["longer", LONG_OVER],
  ["eve", ""],
];

let e: Envoy;

beforeAll(async () => {
  const up = await upstream({ record: false });
  const ours = wasmHttpFilter({
    file: filterWasm("basic-auth"),
    name: "ours",
    rootId: "basic-auth",
    vmId: "ours",
    configuration: { consumers: USERS.map(([u, pw]) => ({ name: u, basic: [{ username: u, hash: sha(pw) }] })) },
  });
  const native = {
    name: "envoy.filters.http.basic_auth",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuth",
      users: { inline_string: USERS.map(([u, pw]) => `${u}:${sha(pw)}`).join("\n") },
    },
  };
  e = await envoy({
    name: "basic-auth-vs-native",
    config: bootstrap({
      listeners: [httpListener({ name: "ours", httpFilters: [ours] }), httpListener({ name: "native", httpFilters: [native] })],
      clusters: [staticCluster("upstream", up.port)],
    }),
  });
}, 120_000);

const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");
const basic = (credentials: string | Buffer): [string, string] => ["authorization", `Basic ${b64(credentials)}`];
const cat = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

async function verdicts(headers: [string, string][]): Promise<{ ours: number; native: number }> {
  const go = (listener: string) => request(e.url("/r", listener), { headers: [["host", "api.example.test"], ...headers] });
  const [ours, native] = await Promise.all([go("ours"), go("native")]);
  return { ours: ours.status, native: native.status };
}

// Same verdict expected from both: [what, headers, status].
const AGREED: [string, [string, string][], number][] = [
  ["a correct password", [basic("alice:Secret123")], 200],
  ["a password with colons (split at the first)", [basic("bob:pass:with:colons")], 200],
  ["a password with leading and trailing spaces", [basic("carol: spaced password ")], 200],
  ["a non-UTF-8 password, as bytes", [basic(cat("dave:", NON_UTF8))], 200],
  ["an empty password that is the password", [basic("eve:")], 200],
  ["a 2,000-byte password", [basic(`long:${LONG_OK}`)], 200],
  ["unpadded base64", [["authorization", `Basic ${b64("alice:Secret123").replace(/=+$/, "")}`]], 200],
  ["spaces after the credentials (Envoy trims them)", [["authorization", `Basic ${b64("alice:Secret123")}   `]], 200],
  ["a wrong password", [basic("alice:secret123")], 401],
  ["the password in upper case", [basic("alice:SECRET123")], 401],
  ["the username in another case", [basic("Alice:Secret123")], 401],
  ["a trailing space in the password", [basic("alice:Secret123 ")], 401],
  ["a trailing space in the username", [basic("alice :Secret123")], 401],
  ["the password cut short", [basic("carol: spaced password")], 401],
  ["an empty password", [basic("alice:")], 401],
  ["an empty username", [basic(":Secret123")], 401],
  ["both empty", [basic(":")], 401],
  ["no colon", [basic("aliceSecret123")], 401],
  ["an unknown user", [basic("mallory:Secret123")], 401],
  ["non-UTF-8 bytes in the username", [basic(cat(Buffer.from([0xe9]), "alice:Secret123"))], 401],
  ["a non-UTF-8 password that is not the password", [basic(cat("dave:", Buffer.from([0xff, 0xfe])))], 401],
  ["a long wrong password", [basic(`alice:${"x".repeat(3000)}`)], 401],
  ["no Authorization", [], 401],
  ["Basic alone", [["authorization", "Basic"]], 401],
  ["Basic and a space", [["authorization", "Basic "]], 401],
  ["no space after Basic", [["authorization", `Basic${b64("alice:Secret123")}`]], 401],
  ["a tab after Basic", [["authorization", `Basic\t${b64("alice:Secret123")}`]], 401],
  ["not base64", [["authorization", "Basic @@@@"]], 401],
  // carol's right credentials, but the last character's unused bits set ("CA=" written "CB="): both decoders want the canonical form.
  ["non-canonical base64", [["authorization", "Basic Y2Fyb2w6IHNwYWNlZCBwYXNzd29yZCB="]], 401],
  ["base64 broken by a space", [["authorization", `Basic ${b64("alice:Secret123").slice(0, 6)} ${b64("alice:Secret123").slice(6)}`]], 401],
  // Authorization is one of Envoy's inline headers: two of them reach both filters joined by ",".
  ["two Authorization headers, the first right", [basic("alice:Secret123"), basic("bob:wrong")], 401],
  ["two Authorization headers, both right", [basic("alice:Secret123"), basic("alice:Secret123")], 401],
  ["a Bearer token", [["authorization", `Bearer ${b64("alice:Secret123")}`]], 401],
  ["the credentials without a scheme", [["authorization", b64("alice:Secret123")]], 401],
];

describe("basic-auth vs Envoy's basic_auth: the same users, the same corpus", () => {
  for (const [what, headers, status] of AGREED) {
    it(`${what}: both ${status}`, async () => {
      const v = await verdicts(headers);
      expect(v, what).toEqual({ ours: status, native: status });
    });
  }
});

describe("differences by design, asserted both ways", () => {
  it("the scheme is case-insensitive for us (RFC 7235 §2.1), exactly 'Basic' for native", async () => {
    for (const scheme of ["basic", "BASIC", "bAsIc"]) {
      expect(await verdicts([["authorization", `${scheme} ${b64("alice:Secret123")}`]]), scheme).toEqual({ ours: 200, native: 401 });
    }
  });

  it("several spaces before the credentials (RFC 7235: 1*SP) pass ours, not native", async () => {
    expect(await verdicts([["authorization", `Basic   ${b64("alice:Secret123")}`]])).toEqual({ ours: 200, native: 401 });
  });

  it("we read at most 4 KiB of Authorization; native reads a longer correct one", async () => {
    expect(await verdicts([basic(`longer:${LONG_OVER}`)])).toEqual({ ours: 401, native: 200 });
  });

  it("the 401's realm: ours configured, native the request URI", async () => {
    const go = (listener: string) => request(e.url("/r", listener), { headers: [["host", "api.example.test"]] });
    expect((await go("ours")).header("www-authenticate")).toBe('Basic realm="portico", charset="UTF-8"');
    expect((await go("native")).header("www-authenticate")).toBe('Basic realm="http://api.example.test/r"');
  });
});
