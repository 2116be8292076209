// plugins_in_one_filter end to end (#14): a route with jwt-auth -> rate-limit -> header-rewrite
// runs them as one Wasm filter of the suite module (one slot enabled on the route, visible in
// Envoy's config dump), and answers exactly as the same plugins as three filters do with the
// option off: 401 without a token, 200 with a valid one (the upstream sees header-rewrite's
// header and the token's x-user), 429 over the limit. One gateway, the option switched by saving
// the file; each phase counts in buckets of its own client key, so no phase sees another's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  echoedHeader,
  freePort,
  generateKey,
  jwksOf,
  mint,
  parseEcho,
  request,
  standardClaims,
  useEchoUpstream,
  useEnvoy,
  type EchoUpstream,
  type Envoy,
  type HttpResponse,
  type TestKey,
} from "../../../test/support/index.js";
import { TypeUrl } from "../../src/xds/types.js";
import { joinEnvoy, nextOutcome, startTestGateway, waitSynced, type TestGateway } from "../support/gateway.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ISSUER = "https://issuer.one-filter.test";
/** Requests per minute per client key: a phase's 4th request is over it. */
const LIMIT = 3;
const SUITE_SLOT = "portico.suite.auth+limit+stamp";
const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");

let gw: TestGateway;
let envoy: Envoy;
let up: EchoUpstream;
let key: TestKey;
let token: string;
let port: number;

function config(inOneFilter: boolean, stamp = "yes"): string {
  return `
plugins_in_one_filter: ${inOneFilter}
listeners:
  - { name: public, address: 127.0.0.1, port: ${port} }
routes:
  - name: api
    match: { path: { prefix: /api/ } }
    upstream: echo
    plugins: [auth, limit, stamp]
upstreams:
  - name: echo
    endpoints: ["127.0.0.1:${up.port}"]
plugins:
  - name: auth
    filter: jwt-auth
    config:
      providers:
        - name: idp
          issuer: ${ISSUER}
          jwks: ${JSON.stringify(jwksOf([key]))}
          claims_to_headers: [{ claim: sub, header: x-user }]
      rules:
        - { match: {}, requires: [idp] }
  - name: limit
    filter: rate-limit
    config:
      rules:
        - { name: per_client, requests: ${LIMIT}, period: 1m, key: [{ header: x-client }] }
  - name: stamp
    filter: header-rewrite
    config:
      rules:
        - { name: stamp, request: { set: { x-stamped: "yes" } }, response: { set: { x-stamp: "${stamp}" } } }
`;
}

const get = (client: string, bearer?: string): Promise<HttpResponse> =>
  request(envoy.url("/api/x"), {
    headers: { "x-client": client, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    timeoutMs: 10_000,
  });

/** What a user notices of one phase: each answer's status, and what the upstream and the client saw. */
async function observe(client: string) {
  const noToken = await get(client);
  const ok = await get(client, token);
  const echoed = parseEcho(ok.body);
  const more: number[] = [];
  for (let i = 1; i <= LIMIT; i++) more.push((await get(client, token)).status);
  return {
    noToken: noToken.status,
    noTokenError: (JSON.parse(noToken.body) as { error?: string }).error,
    ok: ok.status,
    user: echoedHeader(echoed, "x-user"),
    stamped: echoedHeader(echoed, "x-stamped"),
    stampOnResponse: ok.header("x-stamp"),
    // LIMIT - 1 more within the limit, then one over it.
    more,
  };
}

/** Envoy's own view: the Wasm filters the route switches on, and the Wasm configs it loaded over ECDS. */
async function envoyView(): Promise<{ enabled: string[]; ecds: Json[] }> {
  const routes = JSON.parse((await envoy.admin("/config_dump?resource=dynamic_route_configs")).body) as Json;
  const vhosts: Json[] = routes.configs.flatMap((c: Json) => c.route_config.virtual_hosts);
  const api = vhosts.flatMap((v) => v.routes).find((r: Json) => r.name === "api");
  const ecds = JSON.parse((await envoy.admin("/config_dump?resource=ecds_filters")).body) as Json;
  // typed_per_filter_config is a map: Envoy prints it in no particular order.
  return { enabled: Object.keys(api?.typed_per_filter_config ?? {}).sort(), ecds: ecds.configs.map((c: Json) => c.ecds_filter) };
}

/** Saves the file, waits until Envoy ACKed what it produced, and returns what kinds of resources changed. */
async function save(inOneFilter: boolean, stamp?: string): Promise<string[] | undefined> {
  const before = gw.cp.source.last;
  gw.write(config(inOneFilter, stamp));
  const outcome = await nextOutcome(gw.cp, before);
  expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
  await waitSynced(gw.cp, "envoy-one-filter", { failOnNack: true });
  return outcome.ok ? outcome.changedTypes : undefined;
}

beforeAll(async () => {
  up = await echo({ record: false });
  key = await generateKey("ES256");
  token = await mint(key, standardClaims(ISSUER, { sub: "alice" }));
  port = await freePort();
  gw = await startTestGateway({ yaml: config(true) });
  envoy = await joinEnvoy(gw.cp, "envoy-one-filter", {}, envoys);
  await waitSynced(gw.cp, "envoy-one-filter");
}, 60_000);

afterAll(async () => {
  await gw?.stop();
});

describe("plugins_in_one_filter", () => {
  const expected = {
    noToken: 401,
    noTokenError: "missing_token",
    ok: 200,
    user: ["alice"],
    stamped: ["yes"],
    stampOnResponse: "yes",
    more: [...Array.from({ length: LIMIT - 1 }, () => 200), 429],
  };
  let on: Awaited<ReturnType<typeof observe>>;

  it("on (the default): the route switches on one Wasm filter, the suite running auth, limit and stamp", async () => {
    const view = await envoyView();
    expect(view.enabled).toEqual([SUITE_SLOT]);
    const suite = view.ecds.find((f) => f.name === SUITE_SLOT);
    expect(suite?.typed_config.config.root_id).toBe("suite");
    const members = JSON.parse(suite?.typed_config.config.configuration.value).plugins.map((p: Json) => p.filter);
    expect(members).toEqual(["jwt-auth", "rate-limit", "header-rewrite"]);
  });

  it("on: 401 without a token, 200 with one (x-user and the rewritten header upstream), 429 over the limit", async () => {
    on = await observe("client-on");
    expect(on).toEqual(expected);
  });

  it("off: three Wasm filters on the route, and exactly the same answers", async () => {
    await save(false);
    const view = await envoyView();
    expect(view.enabled).toEqual(["portico.plugin.auth", "portico.plugin.limit", "portico.plugin.stamp"]);
    const off = await observe("client-off");
    expect(off).toEqual(expected);
    expect(off).toEqual(on);
  });

  it("on again: back to the one suite filter, with the same answers", async () => {
    await save(true);
    expect((await envoyView()).enabled).toEqual([SUITE_SLOT]);
    expect(await observe("client-on-again")).toEqual(expected);
  });

  it("a member's config edit reaches the suite filter as an ECDS update alone: the listener is not modified", async () => {
    const modified = async () => (await envoy.stats("listener_manager\\.listener_modified")).get("listener_manager.listener_modified") ?? 0;
    const before = await modified();
    // Switching the option off and on again above modified the listener: the counter is read.
    expect(before).toBeGreaterThan(0);
    expect(await save(true, "edited")).toEqual([TypeUrl.ExtensionConfig]);
    const r = await get("client-edit", token);
    expect(r.status).toBe(200);
    expect(r.header("x-stamp")).toBe("edited");
    expect(await modified()).toBe(before);
  });
});
