// The native edge policies (cors, ip-restriction, request-size) and listeners[].trusted_hops:
// each mistake reported at its place inside the plugin's config, and what a valid config becomes.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigError } from "../../../src/config/index.js";
import type { GatewayModel, NativePluginModel } from "../../../src/model/types.js";
import { subdomainRegex } from "../../../src/policies/cors.js";
import { type GatewayDir, fakeWasm, makeGatewayDir, yaml } from "./fixtures.js";

let gw: GatewayDir;
beforeAll(() => {
  gw = makeGatewayDir();
});
afterAll(() => gw.remove());

function lines(errors: ConfigError[]): string[] {
  return errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`);
}

/** The errors of a gateway whose only content is this plugin list. */
async function pluginErrors(plugins: string): Promise<string[]> {
  return lines(await gw.errors(`plugins:\n${plugins}`));
}

async function model(text: string): Promise<GatewayModel> {
  const result = await gw.load(text);
  if (!result.ok) throw new Error(lines(result.errors).join("\n"));
  return result.model;
}

async function policy(plugin: string): Promise<NativePluginModel> {
  const m = await model(`plugins:\n${plugin}`);
  const p = m.plugins[0];
  if (p?.kind !== "native") throw new Error("expected a native plugin");
  return p;
}

describe("cors config", () => {
  it("places each mistake inside the config: origins, methods, headers, unknown keys, durations", async () => {
    expect(
      await pluginErrors(yaml`
        - name: c
          filter: cors
          config:
            origins: ["https://ok.example.com", "https://x.com/path", { regex: "(?=no)" }, 5, "*.example.com"]
            methods: ["GET", "G E T"]
            headers: ["x-ok", "bad header"]
            max_age: 1.5s
            credential: true
      `),
    ).toEqual([
      '5:41 plugins[0].config.origins[1]: invalid origin "https://x.com/path": expected scheme://host[:port] with no path, e.g. "https://app.example.com", "https://*.example.com" or "*"',
      '5:72 plugins[0].config.origins[2].regex: invalid regex "(?=no)": RE2 (Envoy\'s regex engine) has no lookahead or lookbehind',
      "5:84 plugins[0].config.origins[3]: expected a string or a map, got 5",
      '5:87 plugins[0].config.origins[4]: invalid origin "*.example.com": expected scheme://host[:port] with no path, e.g. "https://app.example.com", "https://*.example.com" or "*"',
      '6:22 plugins[0].config.methods[1]: invalid HTTP method "G E T"',
      '7:23 plugins[0].config.headers[1]: invalid header name "bad header"',
      '9:17 plugins[0].config.credential: unknown key "credential" (did you mean "credentials"?)',
    ]);
  });

  it('refuses "*" with credentials, saying why', async () => {
    const errors = await pluginErrors(yaml`
      - name: c
        filter: cors
        config: { origins: ["https://a.example.com", "*"], credentials: true }
    `);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^4:\d+ plugins\[0\]\.config\.origins\[1\]: the origin "\*" cannot be combined with credentials: true: .*any web site/,
    );
  });

  it("bounds an origin's length", async () => {
    const long = `https://${"a.".repeat(200)}example.com`;
    expect(await pluginErrors(`  - { name: c, filter: cors, config: { origins: ["${long}"] } }\n`)).toEqual([
      "2:50 plugins[0].config.origins[0]: invalid origin: longer than 300 characters",
    ]);
  });

  it("requires origins and bounds max_age to whole seconds up to 24h", async () => {
    expect(await pluginErrors("  - { name: c, filter: cors, config: {} }\n")).toEqual(["2:38 plugins[0].config.origins: is required"]);
    expect(await pluginErrors('  - { name: c, filter: cors, config: { origins: ["*"], max_age: 25h } }\n')).toEqual([
      "2:65 plugins[0].config.max_age: must be whole seconds, at most 24h (browsers cap it lower still), got 90000000 ms",
    ]);
  });

  it("becomes a model with defaults: GET, HEAD, POST, no headers, no credentials, no max age", async () => {
    const p = await policy(
      '  - { name: c, filter: cors, global: true, config: { origins: ["HTTPS://App.Example.com:8443", "https://*.example.org", "*"] } }\n',
    );
    expect(p).toEqual({
      kind: "native",
      name: "c",
      global: true,
      policy: {
        filter: "cors",
        config: {
          origins: [
            { kind: "exact", value: "https://app.example.com:8443" },
            { kind: "subdomain", scheme: "https", suffix: "example.org", port: null },
            { kind: "any" },
          ],
          methods: ["GET", "HEAD", "POST"],
          headers: [],
          exposeHeaders: [],
          credentials: false,
          maxAgeSeconds: null,
        },
      },
    });
  });

  it("matches a wildcard subdomain over DNS labels only, never a path or a longer host", () => {
    const re = new RegExp(`^(?:${subdomainRegex({ kind: "subdomain", scheme: "https", suffix: "example.com", port: null })})$`);
    expect(re.test("https://app.example.com")).toBe(true);
    expect(re.test("https://a.b.example.com")).toBe(true);
    expect(re.test("https://example.com")).toBe(false);
    expect(re.test("https://evil.com/.example.com")).toBe(false);
    expect(re.test("https://example.com.evil.com")).toBe(false);
    expect(re.test("https://evil.com?.example.com")).toBe(false);
    expect(re.test("https://evilexample.com")).toBe(false);
    expect(re.test("http://app.example.com")).toBe(false);
    expect(re.test("https://app.example.com:8443")).toBe(false);
  });
});

describe("ip-restriction config", () => {
  it("places each bad address block", async () => {
    expect(
      await pluginErrors(yaml`
        - name: ip
          filter: ip-restriction
          config:
            allow: ["10.0.0.0/8", "10.0.0.0/33", "not-an-ip", "2001:db8::/129", "::1/64"]
            deny: ["1.2.3.4/8/1"]
      `),
    ).toEqual([
      '5:27 plugins[0].config.allow[1]: invalid address block "10.0.0.0/33": the prefix length of an IPv4 block is 0 to 32',
      '5:42 plugins[0].config.allow[2]: invalid address block "not-an-ip": expected an IPv4 or IPv6 address, optionally with /prefix (e.g. "10.0.0.0/8", "2001:db8::/32")',
      '5:55 plugins[0].config.allow[3]: invalid address block "2001:db8::/129": the prefix length of an IPv6 block is 0 to 128',
      '6:12 plugins[0].config.deny[0]: invalid address block "1.2.3.4/8/1": expected an IPv4 or IPv6 address, optionally with /prefix (e.g. "10.0.0.0/8", "2001:db8::/32")',
    ]);
  });

  it("needs at least one block", async () => {
    expect(await pluginErrors("  - { name: ip, filter: ip-restriction, config: { allow: [] } }\n")).toEqual([
      "2:49 plugins[0].config: give at least one address block in allow or deny",
    ]);
  });

  it("reads a bare address as one host (/32, /128)", async () => {
    const p = await policy('  - { name: ip, filter: ip-restriction, config: { deny: ["10.9.9.9", "2001:db8::1"] } }\n');
    expect(p.policy).toEqual({
      filter: "ip-restriction",
      config: {
        allow: [],
        deny: [
          { address: "10.9.9.9", prefixLen: 32 },
          { address: "2001:db8::1", prefixLen: 128 },
        ],
      },
    });
  });
});

describe("request-size config", () => {
  it("takes bytes or a size with a binary unit", async () => {
    for (const [written, bytes] of [
      ["1", 1],
      ["1048576", 1048576],
      ['"64KiB"', 65536],
      ['"1MiB"', 1048576],
      ['"64MiB"', 64 * 1048576],
    ] as const) {
      const p = await policy(`  - { name: s, filter: request-size, config: { max_body_bytes: ${written} } }\n`);
      expect(p.policy).toEqual({ filter: "request-size", config: { maxBodyBytes: bytes } });
    }
  });

  it("bounds the limit to 1 byte .. 64MiB and refuses unknown units", async () => {
    const errorsOf = (v: string) => pluginErrors(`  - { name: s, filter: request-size, config: { max_body_bytes: ${v} } }\n`);
    expect(await errorsOf("0")).toEqual(["2:64 plugins[0].config.max_body_bytes: must be 1 byte to 64MiB (got 0B)"]);
    expect(await errorsOf('"65MiB"')).toEqual(["2:64 plugins[0].config.max_body_bytes: must be 1 byte to 64MiB (got 65MiB)"]);
    expect(await errorsOf('"1MB"')).toEqual([
      '2:64 plugins[0].config.max_body_bytes: invalid size "1MB": use a number of bytes or a number with a unit (B, KiB, MiB), e.g. "64KiB"',
    ]);
    expect(await errorsOf("1.5")).toEqual(["2:64 plugins[0].config.max_body_bytes: a size must be a whole number of bytes (got 1.5)"]);
    expect(await pluginErrors("  - { name: s, filter: request-size }\n")).toEqual(["2:5 plugins[0].config.max_body_bytes: is required"]);
  });
});

describe("native policies among plugins", () => {
  it("need no module and take no root_id", async () => {
    expect(await pluginErrors("  - { name: s, filter: request-size, root_id: x, config: { max_body_bytes: 10 } }\n")).toEqual([
      "2:47 plugins[0].root_id: root_id is for modules only (a suite filter's root_id is its name)",
    ]);
  });

  it("are never shadowed by a suite Wasm file of the same name", async () => {
    writeFileSync(join(gw.filtersDir, "cors.wasm"), fakeWasm("a Wasm filter named cors"));
    const m = await model('plugins: [{ name: c, filter: cors, config: { origins: ["*"] } }]\n');
    expect(m.plugins[0]?.kind).toBe("native");
  });

  it("take their config as a JSON string too", async () => {
    const p = await policy(`  - { name: s, filter: request-size, config: '{"max_body_bytes": 10}' }\n`);
    expect(p.policy.config).toEqual({ maxBodyBytes: 10 });
  });
});

describe("listeners[].trusted_hops", () => {
  it("defaults to 0 and takes 0..16", async () => {
    const m = await model("listeners: [{ name: a, port: 80 }, { name: b, port: 81, trusted_hops: 2 }]\n");
    expect(m.listeners.map((l) => l.trustedHops)).toEqual([0, 2]);
  });

  it("refuses a negative, fractional or too large count at its place", async () => {
    expect(
      lines(
        await gw.errors(
          "listeners: [{ name: a, port: 80, trusted_hops: 17 }, { name: b, port: 81, trusted_hops: -1 }, { name: c, port: 82, trusted_hops: 1.5 }]\n",
        ),
      ),
    ).toEqual([
      "1:48 listeners[0].trusted_hops: must be at most 16 (got 17)",
      "1:89 listeners[1].trusted_hops: must be at least 0 (got -1)",
      "1:130 listeners[2].trusted_hops: expected an integer, got 1.5",
    ]);
  });
});
