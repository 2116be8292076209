// gateway.yaml and global rate limits: the `rate_limit_service` block, the fields the gateway
// sets in a rate-limit plugin's config, the reserved cluster name, and what the model gets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigError } from "../../../src/config/index.js";
import { type GatewayDir, makeGatewayDir, yaml } from "./fixtures.js";

let gw: GatewayDir;
beforeAll(() => {
  gw = makeGatewayDir();
});
afterAll(() => gw.remove());

const lines = (errors: ConfigError[]): string[] => errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`);

describe("rate_limit_service", () => {
  it("gives the model the external service's address", async () => {
    const r = await gw.load('rate_limit_service: { address: "ratelimit.internal:8081" }\n');
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.model.rateLimitService).toEqual({ address: { host: "ratelimit.internal", port: 8081 } });
  });

  it("absent: null in the model (portico run supervises one)", async () => {
    const r = await gw.load("listeners: []\n");
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.model.rateLimitService).toBeNull();
  });

  it("names a bad address, an unknown key and a missing address at their fields", async () => {
    expect(lines(await gw.errors('rate_limit_service: { address: "ratelimit" }\n'))).toEqual([
      '1:32 rate_limit_service.address: invalid address "ratelimit": expected "host:port"',
    ]);
    expect(
      lines(
        await gw.errors(yaml`
      rate_limit_service:
        adress: "rl:1"
    `),
      ),
    ).toEqual([
      "2:3 rate_limit_service.address: is required",
      '2:3 rate_limit_service.adress: unknown key "adress" (did you mean "address"?)',
    ]);
  });
});

describe("a rate-limit plugin with global rules", () => {
  it("refuses global.cluster and global.domain written by the user: the gateway sets them", async () => {
    const errors = await gw.errors(yaml`
      plugins:
        - name: quota
          filter: rate-limit
          config:
            global: { cluster: mine, domain: mine }
            rules: [{ name: a, scope: global, requests: 1, period: 1s }]
    `);
    expect(lines(errors)).toEqual([
      "5:26 plugins[0].config.global.cluster: set by the gateway (portico_ratelimit): leave it out",
      "5:40 plugins[0].config.global.domain: set by the gateway (portico.quota): leave it out",
    ]);
  });

  it("calls the gateway's own cluster: the filter reporting it is no unknown upstream", async () => {
    const r = await gw.load(
      yaml`
        plugins:
          - name: quota
            filter: rate-limit
            config: { rules: [{ name: a, scope: global, requests: 1, period: 1s }] }
      `,
      { checkPlugin: async () => ({ errors: [], clusters: [{ name: "portico_ratelimit", path: "global.cluster" }] }) },
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const [p] = r.model.plugins;
    expect(p?.kind === "wasm" && JSON.parse(p.config).global).toEqual({ cluster: "portico_ratelimit", domain: "portico.quota" });
  });

  it("another filter naming portico_ratelimit is an unknown upstream, and no upstream may take the name", async () => {
    const errors = await gw.errors(
      yaml`
        upstreams: [{ name: portico_ratelimit, endpoints: ["10.0.0.1:80"] }]
        plugins:
          - { name: jwt, filter: jwt-auth, config: { providers: [] } }
      `,
      { checkPlugin: async () => ({ errors: [], clusters: [{ name: "portico_ratelimit", path: "providers[0].remote_jwks.cluster" }] }) },
    );
    expect(lines(errors).join("\n")).toContain(
      'upstreams[0].name: "portico_ratelimit" is reserved: it is the cluster of the rate limit service global rate limits use',
    );
  });
});
