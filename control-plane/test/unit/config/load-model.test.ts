// Valid configs → the exact GatewayModel: every field mapped, every default applied.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_CA_BUNDLE } from "../../../src/config/files.js";
import { loadGatewayFile } from "../../../src/config/index.js";
import type { GatewayModel } from "../../../src/model/types.js";
import { type GatewayDir, fakeWasm, makeGatewayDir, yaml } from "./fixtures.js";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

let gw: GatewayDir;
beforeAll(() => {
  gw = makeGatewayDir();
});
afterAll(() => gw.remove());

async function model(text: string): Promise<GatewayModel> {
  const result = await gw.load(text);
  if (!result.ok) throw new Error(`rejected:\n${result.errors.map((e) => `${e.line}: ${e.path}: ${e.message}`).join("\n")}`);
  return result.model;
}

/** The edge-safety settings of a listener that states none (Envoy's edge recommendations). */
const DEFAULT_LIMITS = {
  headersWithUnderscoresAction: "reject_request",
  pathWithEscapedSlashesAction: "unescape_and_redirect",
  normalizePath: true,
  mergeSlashes: true,
  maxRequestHeadersKb: 60,
  requestHeadersTimeoutMs: 10_000,
  streamIdleTimeoutMs: 300_000,
  idleTimeoutMs: 3_600_000,
  perConnectionBufferLimitBytes: 32768,
  http2: { maxConcurrentStreams: 100, initialStreamWindowSize: 65536, initialConnectionWindowSize: 1048576 },
};

const FULL = yaml`
  listeners:
    - name: public
      address: 0.0.0.0
      port: 8080
      protocols: [http1, http2]
      headers_with_underscores_action: drop_header
      path_with_escaped_slashes_action: keep_unchanged
      normalize_path: false
      merge_slashes: false
      max_request_headers_kb: 96
      request_headers_timeout: 2s
      stream_idle_timeout: 1m
      idle_timeout: 0
      per_connection_buffer_limit_bytes: 65536
      http2: { max_concurrent_streams: 10, initial_stream_window_size: 65535, initial_connection_window_size: 2147483647 }
    - name: secure
      address: "::"
      port: 8443
      protocols: [http2]
      tls:
        min_version: 1.3
        certificates:
          - cert: certs/api.pem
            key: certs/api.key
            sni: [api.example.com, "*.Example.com"]
          - cert: certs/api.pem
            key: certs/api.key
  routes:
    - name: api
      listeners: [secure]
      hosts: [api.example.com]
      match:
        path: { prefix: /api }
        methods: [GET, post]
        headers: [{ name: X-Env, exact: prod }, { name: x-debug, present: true }, { name: x-v, regex: "^v[12]$", invert: true }]
        query: [{ name: Debug, prefix: "1" }]
      rewrite: { regex: { pattern: "^/api/(.*)$", substitution: '/\\1' } }
      timeout: 15s
      idle_timeout: 45s
      retries: { attempts: 2, on: [5xx, connect-failure], per_try_timeout: 2s, status_codes: [503], backoff: { base: 10ms, max: 2s } }
      upstreams: [{ name: echo, weight: 90 }, { name: canary, weight: 10 }]
      plugins: [limit-api, auth]
    - name: fallback
      upstream: canary
      match: { path: { exact: /health } }
      rewrite: { prefix: /status }
      timeout: 0
  upstreams:
    - name: echo
      endpoints: ["127.0.0.1:9001", { host: backend.internal, port: 80, weight: 2 }]
      protocol: grpc
      lb: least_request
      connect_timeout: 250ms
      tls: { sni: api.internal }
      health_check: { path: /healthz, host: probe.internal, interval: 2s, timeout: 500ms, healthy_threshold: 2, unhealthy_threshold: 4, expected_statuses: [200, [300, 400]] }
      outlier_detection: { consecutive_5xx: 3, interval: 1m, base_ejection_time: 1m30s, max_ejection_percent: 50 }
      circuit_breakers: { max_connections: 100, max_retries: 5 }
    - name: canary
      endpoints: ["[::1]:9002", { host: 10.0.0.7, port: 9003 }]
      tls: true
      circuit_breakers: { retry_budget: { percent: 12.5, min_concurrency: 1 } }
  plugins:
    - name: auth
      filter: jwt-auth
      global: true
      config: { issuer: "https://issuer.example" }
    - name: limit-api
      filter: rate-limit
      config: '{ "requests_per_second": 5 }'
    - name: mine
      module: ./my-filter.wasm
      root_id: my_root
`;

describe("a full config", () => {
  it("maps every field to the model", async () => {
    const m = await model(FULL);
    expect(m).toEqual({
      listeners: [
        {
          name: "public",
          address: "0.0.0.0",
          port: 8080,
          protocols: ["http1", "http2"],
          tls: null,
          accessLog: null,
          trustedHops: 0,
          limits: {
            headersWithUnderscoresAction: "drop_header",
            pathWithEscapedSlashesAction: "keep_unchanged",
            normalizePath: false,
            mergeSlashes: false,
            maxRequestHeadersKb: 96,
            requestHeadersTimeoutMs: 2000,
            streamIdleTimeoutMs: 60_000,
            idleTimeoutMs: 0,
            perConnectionBufferLimitBytes: 65536,
            http2: { maxConcurrentStreams: 10, initialStreamWindowSize: 65535, initialConnectionWindowSize: 2147483647 },
          },
        },
        {
          name: "secure",
          address: "::",
          port: 8443,
          protocols: ["http2"],
          tls: {
            minVersion: "1.3",
            certificates: [
              {
                secretName: "secure.cert.0",
                certPath: join(gw.dir, "certs/api.pem"),
                keyPath: join(gw.dir, "certs/api.key"),
                sni: ["api.example.com", "*.example.com"],
              },
              { secretName: "secure.cert.1", certPath: join(gw.dir, "certs/api.pem"), keyPath: join(gw.dir, "certs/api.key"), sni: [] },
            ],
          },
          accessLog: null,
          trustedHops: 0,
          limits: DEFAULT_LIMITS,
        },
      ],
      routes: [
        {
          name: "api",
          listeners: ["secure"],
          hosts: ["api.example.com"],
          path: { kind: "prefix", value: "/api" },
          methods: ["GET", "POST"],
          headers: [
            { name: "x-env", match: { kind: "exact", value: "prod" }, invert: false },
            { name: "x-debug", match: { kind: "present" }, invert: false },
            { name: "x-v", match: { kind: "regex", value: "^v[12]$" }, invert: true },
          ],
          query: [{ name: "Debug", match: { kind: "prefix", value: "1" }, invert: false }],
          rewrite: { kind: "regex", pattern: "^/api/(.*)$", substitution: "/\\1" },
          timeoutMs: 15_000,
          idleTimeoutMs: 45_000,
          retries: {
            attempts: 2,
            on: ["5xx", "connect-failure", "retriable-status-codes"],
            perTryTimeoutMs: 2000,
            statusCodes: [503],
            backoff: { baseMs: 10, maxMs: 2000 },
          },
          upstreams: [
            { name: "echo", weight: 90 },
            { name: "canary", weight: 10 },
          ],
          plugins: ["auth", "limit-api"],
        },
        {
          name: "fallback",
          listeners: ["public", "secure"],
          hosts: ["*"],
          path: { kind: "exact", value: "/health" },
          methods: [],
          headers: [],
          query: [],
          rewrite: { kind: "prefix", value: "/status" },
          timeoutMs: 0,
          idleTimeoutMs: null,
          retries: null,
          upstreams: [{ name: "canary", weight: 1 }],
          plugins: ["auth"],
        },
      ],
      upstreams: [
        {
          name: "echo",
          discovery: "dns",
          endpoints: [
            { host: "127.0.0.1", port: 9001, weight: 1 },
            { host: "backend.internal", port: 80, weight: 2 },
          ],
          protocol: "grpc",
          lb: "least_request",
          hashOn: null,
          connectTimeoutMs: 250,
          healthCheck: {
            path: "/healthz",
            host: "probe.internal",
            intervalMs: 2000,
            timeoutMs: 500,
            healthyThreshold: 2,
            unhealthyThreshold: 4,
            expectedStatuses: [
              { start: 200, end: 201 },
              { start: 300, end: 400 },
            ],
          },
          outlierDetection: { consecutive5xx: 3, intervalMs: 60_000, baseEjectionTimeMs: 90_000, maxEjectionPercent: 50 },
          circuitBreakers: { maxConnections: 100, maxPendingRequests: null, maxRequests: null, maxRetries: 5, retryBudget: null },
          tls: { sni: "api.internal", trust: { kind: "system", path: SYSTEM_CA_BUNDLE } },
        },
        {
          name: "canary",
          discovery: "static",
          endpoints: [
            { host: "::1", port: 9002, weight: 1 },
            { host: "10.0.0.7", port: 9003, weight: 1 },
          ],
          protocol: "http1",
          lb: "round_robin",
          hashOn: null,
          connectTimeoutMs: 5000,
          healthCheck: null,
          outlierDetection: null,
          circuitBreakers: {
            maxConnections: null,
            maxPendingRequests: null,
            maxRequests: null,
            maxRetries: null,
            retryBudget: { percent: 12.5, minConcurrency: 1 },
          },
          tls: { sni: null, trust: { kind: "system", path: SYSTEM_CA_BUNDLE } },
        },
      ],
      plugins: [
        {
          kind: "wasm",
          name: "auth",
          filter: "jwt-auth",
          rootId: "jwt-auth",
          module: { sha256: sha(fakeWasm("jwt-auth")), path: join(gw.filtersDir, "jwt-auth.wasm"), size: fakeWasm("jwt-auth").length },
          config: '{"issuer":"https://issuer.example"}',
          global: true,
        },
        {
          kind: "wasm",
          name: "limit-api",
          filter: "rate-limit",
          rootId: "rate-limit",
          module: {
            sha256: sha(fakeWasm("rate-limit")),
            path: join(gw.filtersDir, "rate-limit.wasm"),
            size: fakeWasm("rate-limit").length,
          },
          config: '{"requests_per_second":5}',
          global: false,
        },
        {
          kind: "wasm",
          name: "mine",
          filter: "custom",
          rootId: "my_root",
          module: { sha256: sha(fakeWasm("user module")), path: join(gw.dir, "my-filter.wasm"), size: fakeWasm("user module").length },
          config: "{}",
          global: false,
        },
      ],
      consumers: [],
      rateLimitService: null,
      // A route runs auth and limit one after the other: they run in one filter, the suite module.
      suite: { module: { sha256: sha(fakeWasm("suite")), path: join(gw.filtersDir, "suite.wasm"), size: fakeWasm("suite").length } },
    });
  });

  it("returns each module's bytes under its sha256, once per module", async () => {
    const result = await gw.load(FULL);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect([...result.modules.keys()].sort()).toEqual(
      [sha(fakeWasm("jwt-auth")), sha(fakeWasm("rate-limit")), sha(fakeWasm("suite")), sha(fakeWasm("user module"))].sort(),
    );
    expect(result.modules.get(sha(fakeWasm("user module")))).toEqual(fakeWasm("user module"));
  });

  it("gives the same model for the same config written as JSON", async () => {
    const { parse } = await import("yaml");
    expect(await model(JSON.stringify(parse(FULL), null, "\t"))).toEqual(await model(FULL));
  });
});

describe("defaults", () => {
  it("fills in every unstated field", async () => {
    const m = await model(yaml`
      listeners: [{ name: main, port: 80 }]
      routes: [{ name: all, upstream: web }]
      upstreams:
        - name: web
          endpoints: ["web.internal:8080"]
          health_check: {}
          outlier_detection: {}
          circuit_breakers: {}
          tls: { }
      plugins: [{ name: hdr, filter: header-rewrite }, { name: own, module: my-filter.wasm }]
    `);
    expect(m.listeners).toEqual([
      {
        name: "main",
        address: "0.0.0.0",
        port: 80,
        protocols: ["http1", "http2"],
        tls: null,
        accessLog: null,
        trustedHops: 0,
        limits: DEFAULT_LIMITS,
      },
    ]);
    expect(m.routes[0]).toEqual({
      name: "all",
      listeners: ["main"],
      hosts: ["*"],
      path: { kind: "prefix", value: "/" },
      methods: [],
      headers: [],
      query: [],
      rewrite: null,
      timeoutMs: null,
      idleTimeoutMs: null,
      retries: null,
      upstreams: [{ name: "web", weight: 1 }],
      plugins: [],
    });
    expect(m.upstreams[0]).toEqual({
      name: "web",
      discovery: "dns",
      endpoints: [{ host: "web.internal", port: 8080, weight: 1 }],
      protocol: "http1",
      lb: "round_robin",
      hashOn: null,
      connectTimeoutMs: 5000,
      healthCheck: {
        path: "/",
        host: null,
        intervalMs: 5000,
        timeoutMs: 1000,
        healthyThreshold: 1,
        unhealthyThreshold: 3,
        expectedStatuses: [{ start: 200, end: 400 }],
      },
      outlierDetection: { consecutive5xx: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 10 },
      circuitBreakers: { maxConnections: null, maxPendingRequests: null, maxRequests: null, maxRetries: null, retryBudget: null },
      tls: { sni: null, trust: { kind: "system", path: SYSTEM_CA_BUNDLE } },
    });
    expect(m.plugins.map((p) => (p.kind === "wasm" ? [p.name, p.rootId, p.config, p.global] : [p.name]))).toEqual([
      ["hdr", "header-rewrite", "{}", false],
      ["own", "", "{}", false],
    ]);
  });

  it("defaults a retry policy to one retry on 5xx and connect failures, and TLS to 1.2", async () => {
    const m = await model(yaml`
      listeners:
        - { name: s, port: 443, tls: { certificates: [{ cert: certs/api.pem, key: certs/api.key }] } }
      routes: [{ name: r, upstream: u, retries: {} }]
      upstreams: [{ name: u, endpoints: ["10.0.0.1:80"], tls: false }]
    `);
    expect(m.routes[0]?.retries).toEqual({
      attempts: 1,
      on: ["5xx", "connect-failure"],
      perTryTimeoutMs: null,
      statusCodes: [],
      backoff: null,
    });
    expect(m.listeners[0]?.tls?.minVersion).toBe("1.2");
    expect(m.upstreams[0]?.tls).toBeNull();
  });

  it("verifies upstream TLS against a ca file (relative to the config, sent as secret <upstream>.ca), the system store, or not at all when asked", async () => {
    const m = await model(yaml`
      upstreams:
        - { name: own, endpoints: ["10.0.0.1:443"], tls: { ca: certs/api.pem, sni: api.internal } }
        - { name: sys, endpoints: ["10.0.0.1:443"], tls: true }
        - { name: off, endpoints: ["10.0.0.1:443"], tls: { insecure_skip_verify: true } }
    `);
    expect(m.upstreams.map((u) => u.tls)).toEqual([
      { sni: "api.internal", trust: { kind: "ca", path: join(gw.dir, "certs/api.pem"), secretName: "own.ca" } },
      { sni: null, trust: { kind: "system", path: SYSTEM_CA_BUNDLE } },
      { sni: null, trust: { kind: "none" } },
    ]);
  });

  it("loads an empty file, or one with only comments, as an empty gateway", async () => {
    const empty = { listeners: [], routes: [], upstreams: [], plugins: [], consumers: [], rateLimitService: null, suite: null };
    expect(await model("")).toEqual(empty);
    expect(await model("# nothing yet\n")).toEqual(empty);
    expect(await model("listeners:\nroutes: []\n")).toEqual(empty);
  });
});

describe("route plugins", () => {
  it("are the global plugins plus the route's own, once each, in the plugins list's order", async () => {
    const m = await model(yaml`
      routes:
        - { name: a, upstream: u, plugins: [third, auth, first, third] }
        - { name: b, upstream: u }
      upstreams: [{ name: u, endpoints: ["10.0.0.1:80"] }]
      plugins:
        - { name: first, filter: header-rewrite }
        - { name: auth, filter: jwt-auth, global: true }
        - { name: third, filter: rate-limit }
        - { name: also-global, filter: rate-limit, global: true }
    `);
    expect(m.routes.map((r) => r.plugins)).toEqual([
      ["first", "auth", "third", "also-global"],
      ["auth", "also-global"],
    ]);
  });
});

describe("values as users write them", () => {
  it("takes TLS versions quoted or not, upper-cases methods, lower-cases hosts and header names", async () => {
    const m = await model(yaml`
      listeners:
        - { name: a, port: 1, tls: { min_version: "1.3", certificates: [{ cert: certs/api.pem, key: certs/api.key }] } }
      routes: [{ name: r, upstream: u, hosts: [API.Example.com], match: { methods: [get, Get], headers: [{ name: X-A, present: true }] } }]
      upstreams: [{ name: u, endpoints: ["10.0.0.1:80"] }]
    `);
    expect(m.listeners[0]?.tls?.minVersion).toBe("1.3");
    expect(m.routes[0]?.methods).toEqual(["GET"]);
    expect(m.routes[0]?.hosts).toEqual(["api.example.com"]);
    expect(m.routes[0]?.headers[0]?.name).toBe("x-a");
  });

  it("hash_on: one normalized key; ring_hash and maglev without it hash the client's address", async () => {
    const m = await model(yaml`
      upstreams:
        - { name: h, endpoints: ["10.0.0.1:80"], lb: ring_hash, hash_on: { header: X-User } }
        - { name: c, endpoints: ["10.0.0.1:80"], lb: maglev, hash_on: { cookie: Session } }
        - { name: q, endpoints: ["10.0.0.1:80"], lb: ring_hash, hash_on: { query: Tenant } }
        - { name: s, endpoints: ["10.0.0.1:80"], lb: maglev, hash_on: { source_ip: true } }
        - { name: d1, endpoints: ["10.0.0.1:80"], lb: ring_hash }
        - { name: d2, endpoints: ["10.0.0.1:80"], lb: maglev }
        - { name: r, endpoints: ["10.0.0.1:80"], lb: random }
    `);
    expect(m.upstreams.map((u) => [u.name, u.hashOn])).toEqual([
      ["h", { kind: "header", name: "x-user" }],
      ["c", { kind: "cookie", name: "Session" }],
      ["q", { kind: "query", name: "Tenant" }],
      ["s", { kind: "source_ip" }],
      ["d1", { kind: "source_ip" }],
      ["d2", { kind: "source_ip" }],
      ["r", null],
    ]);
  });

  it("expands YAML anchors and merge keys", async () => {
    const m = await model(yaml`
      upstreams:
        - &base { name: a, endpoints: ["10.0.0.1:80"], lb: random }
        - { <<: *base, name: b }
    `);
    expect(m.upstreams.map((u) => [u.name, u.lb])).toEqual([
      ["a", "random"],
      ["b", "random"],
    ]);
  });
});

describe("loadGatewayFile", () => {
  it("resolves paths against the file's directory and names the file in errors", async () => {
    const path = join(gw.dir, "gw.yaml");
    writeFileSync(path, "plugins: [{ name: own, module: my-filter.wasm }]\n");
    const ok = await loadGatewayFile(path, { filtersDir: gw.filtersDir });
    const plugin = ok.ok ? ok.model.plugins[0] : undefined;
    expect(plugin?.kind === "wasm" && plugin.module.path).toBe(join(gw.dir, "my-filter.wasm"));

    writeFileSync(path, "plugins: [{ name: own, module: missing.wasm }]\n");
    const bad = await loadGatewayFile(path, { filtersDir: gw.filtersDir });
    expect(bad.ok ? [] : bad.errors).toEqual([
      {
        source: path,
        path: "plugins[0].module",
        line: 1,
        column: 32,
        message: `cannot read module ${join(gw.dir, "missing.wasm")}: no such file`,
      },
    ]);
  });

  it("reports a config file that cannot be read", async () => {
    const path = join(gw.dir, "absent.yaml");
    const result = await loadGatewayFile(path, { filtersDir: gw.filtersDir });
    expect(result).toEqual({
      ok: false,
      errors: [{ source: path, path: "", line: 0, column: 0, message: "cannot read the config file: no such file" }],
    });
  });
});
