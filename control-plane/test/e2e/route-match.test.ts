// The one match vocabulary through a real Envoy: each route match kind that Envoy has no field of
// its own for (path suffix and glob, as a safe_regex) or that came with the vocabulary (header and
// query suffix, contains, present: false) routes a request that matches and 404s one that does
// not. Each route is also gated on `x-case`, so every kind is tested on its own in one config.
// And a route and a plugin rule with the same `match` select the same requests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, parseEcho, request, useEchoUpstream, useEnvoy, type Envoy } from "../../../test/support/index.js";
import { joinEnvoy, startTestGateway, waitSynced, type TestGateway } from "../support/gateway.js";

const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");

let gw: TestGateway;
let envoy: Envoy;

type Match = { path?: object; headers?: object[]; query?: object[] };

/** Route name -> its match (besides `x-case: <name>`). */
const CASES: Record<string, Match> = {
  "path-suffix": { path: { suffix: ".json" } },
  "path-glob": { path: { glob: "/g/*/x?/**" } },
  "header-suffix": { headers: [{ name: "x-region", suffix: "-eu" }] },
  "header-contains": { headers: [{ name: "x-agent", contains: "curl" }] },
  "header-absent": { headers: [{ name: "x-debug", present: false }] },
  "query-suffix": { query: [{ name: "format", suffix: "json" }] },
  "query-contains": { query: [{ name: "q", contains: "a.b" }] },
  "query-absent": { query: [{ name: "draft", present: false }] },
  "query-not-present": { query: [{ name: "draft", present: true, invert: true }] },
};

/** One match, used by the route `same` and by a header-rewrite rule (a header regex and a path glob). */
const SAME: Match = {
  path: { glob: "/s/*/x/**" },
  headers: [
    { name: "x-env", regex: "prod|stag(ing)?" },
    { name: "x-case", exact: "same" },
  ],
};

/**
 * The gateway file (JSON is YAML): one route per case, all to the echo upstream; then `same`
 * and, for the rest of its x-case, `same-rest`. A global header-rewrite plugin names the route
 * that took each request and marks the requests its rule (with SAME as match) selected.
 */
function config(port: number, upstream: number): string {
  const routes: { name: string; match: Match; upstream: string }[] = Object.entries(CASES).map(([name, m]) => ({
    name,
    match: { ...m, headers: [...(m.headers ?? []), { name: "x-case", exact: name }] },
    upstream: "echo",
  }));
  routes.push({ name: "same", match: SAME, upstream: "echo" });
  routes.push({ name: "same-rest", match: { headers: [{ name: "x-case", exact: "same" }] }, upstream: "echo" });
  return JSON.stringify({
    listeners: [{ name: "public", address: "127.0.0.1", port }],
    routes,
    upstreams: [{ name: "echo", endpoints: [`127.0.0.1:${upstream}`] }],
    plugins: [
      {
        name: "mark",
        filter: "header-rewrite",
        global: true,
        config: {
          rules: [
            { name: "route", response: { set: { "x-route": "${route.name}" } } },
            { name: "same", match: SAME, response: { set: { "x-rule": "hit" } } },
          ],
        },
      },
    ],
  });
}

beforeAll(async () => {
  const up = await echo({ record: false });
  gw = await startTestGateway({ yaml: config(await freePort(), up.port) });
  envoy = await joinEnvoy(gw.cp, "match", { concurrency: 1 }, envoys);
  await waitSynced(gw.cp, "match");
}, 60_000);

afterAll(async () => {
  await gw?.stop();
});

/** Status of a request for `kind` (200: its route took it; 404: no route did). */
async function status(kind: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await request(envoy.url(path, "public"), { headers: { "x-case": kind, ...headers }, timeoutMs: 10_000 });
  if (r.status === 200) expect(parseEcho(r.body).path).toBe(path);
  return r.status;
}

describe("route match kinds in a real Envoy", () => {
  it("path suffix (the query string is not part of the path)", async () => {
    expect(await status("path-suffix", "/a/b.json")).toBe(200);
    expect(await status("path-suffix", "/a/b.json?x=1")).toBe(200);
    expect(await status("path-suffix", "/a/bxjson")).toBe(404);
    expect(await status("path-suffix", "/a/b.json/c")).toBe(404);
  });

  it("path glob: * within a segment, ? one non-/ character, ** across segments", async () => {
    expect(await status("path-glob", "/g/a/x1/deep/er")).toBe(200);
    expect(await status("path-glob", "/g/abc/xy/")).toBe(200);
    expect(await status("path-glob", "/g/a/b/x1/c")).toBe(404); // * does not cross "/"
    expect(await status("path-glob", "/g/a/x/c")).toBe(404); // ? needs one character
    expect(await status("path-glob", "/g/a/x1")).toBe(404); // "/**" needs the "/"
  });

  it("header suffix and contains", async () => {
    expect(await status("header-suffix", "/", { "x-region": "west-eu" })).toBe(200);
    expect(await status("header-suffix", "/", { "x-region": "west-us" })).toBe(404);
    expect(await status("header-suffix", "/")).toBe(404);
    expect(await status("header-contains", "/", { "x-agent": "my-curl/8" })).toBe(200);
    expect(await status("header-contains", "/", { "x-agent": "wget" })).toBe(404);
  });

  it("header present: false means absent", async () => {
    expect(await status("header-absent", "/")).toBe(200);
    expect(await status("header-absent", "/", { "x-debug": "1" })).toBe(404);
    expect(await status("header-absent", "/", { "x-debug": "" })).toBe(404);
  });

  it("query suffix and contains", async () => {
    expect(await status("query-suffix", "/?format=appjson")).toBe(200);
    expect(await status("query-suffix", "/?format=xml")).toBe(404);
    expect(await status("query-contains", "/?q=xa.by")).toBe(200);
    expect(await status("query-contains", "/?q=axb")).toBe(404);
  });

  it("query present: false (and present: true inverted) means absent", async () => {
    for (const kind of ["query-absent", "query-not-present"]) {
      expect(await status(kind, "/?other=1")).toBe(200);
      expect(await status(kind, "/")).toBe(200);
      expect(await status(kind, "/?draft=1")).toBe(404);
      expect(await status(kind, "/?draft")).toBe(404);
    }
  });
});

describe("a route and a plugin rule with the same match", () => {
  it("select the same requests (header regex, path glob)", async () => {
    const paths = ["/s/a/x/b", "/s/a/x/", "/s/ab/x/deep/er?q=1", "/s/a/b/x/c", "/s/x/b", "/s/a/x", "/S/a/x/b"];
    const envs = ["prod", "staging", "stag", "preprod", "production", undefined];
    const seen = { both: 0, neither: 0 };
    for (const path of paths) {
      for (const env of envs) {
        const r = await request(envoy.url(path, "public"), {
          headers: { "x-case": "same", ...(env ? { "x-env": env } : {}) },
          timeoutMs: 10_000,
        });
        expect(r.status).toBe(200);
        const route = r.header("x-route");
        const rule = r.header("x-rule") === "hit";
        expect(route === "same" ? "same" : route, `${path} x-env=${env}`).toBe(rule ? "same" : "same-rest");
        seen[rule ? "both" : "neither"]++;
      }
    }
    // Both sides of the match are exercised.
    expect(seen.both).toBe(9);
    expect(seen.neither).toBe(paths.length * envs.length - 9);
  });
});
