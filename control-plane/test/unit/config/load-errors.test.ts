// Rejected configs: each kind of mistake is reported at its path and line, all of them at once.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkUpstreamCaFiles } from "../../../src/config/files.js";
import { type ConfigError, type PluginChecker, formatConfigErrors } from "../../../src/config/index.js";
import { type GatewayDir, makeGatewayDir, yaml } from "./fixtures.js";

let gw: GatewayDir;
beforeAll(() => {
  gw = makeGatewayDir();
});
afterAll(() => gw.remove());

/** The errors as "line:column path: message", the way a user reads them. */
function lines(errors: ConfigError[]): string[] {
  return errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`);
}

const UPSTREAM = `upstreams: [{ name: echo, endpoints: ["10.0.0.1:80"] }, { name: api, endpoints: ["10.0.0.2:80"] }]`;

describe("shape errors", () => {
  it("names a misspelt key at the key, suggesting the right one", async () => {
    const errors = await gw.errors(yaml`
      listeners:
        - name: main
          prot: 80
    `);
    expect(lines(errors)).toEqual([
      "2:5 listeners[0].port: is required",
      '3:5 listeners[0].prot: unknown key "prot" (did you mean "port"?)',
    ]);
  });

  it("lists the accepted keys when nothing is close", async () => {
    const errors = await gw.errors("routse: []\nzzz: 1\n");
    expect(lines(errors)).toEqual([
      '1:1 routse: unknown key "routse" (did you mean "routes"?)',
      '2:1 zzz: unknown key "zzz" (expected one of: $schema, listeners, routes, upstreams, plugins, consumers, rate_limit_service, plugins_in_one_filter)',
    ]);
  });

  it("points a missing key at the map that lacks it", async () => {
    const errors = await gw.errors(yaml`
      upstreams:
        - name: u
          lb: random
    `);
    expect(lines(errors)).toEqual(["2:5 upstreams[0].endpoints: is required"]);
  });

  it("says what was expected and what was found, in YAML words", async () => {
    const errors = await gw.errors(yaml`
      listeners: { name: main }
      upstreams:
        - name: u
          endpoints: "10.0.0.1:80"
          lb: fastest
          tls: "yes"
          protocol: 2
    `);
    expect(lines(errors)).toEqual([
      "1:12 listeners: expected a list, got a map",
      '4:16 upstreams[0].endpoints: expected a list, got "10.0.0.1:80"',
      '5:9 upstreams[0].lb: expected one of "round_robin", "least_request", "random", "ring_hash", "maglev"; got "fastest"',
      '6:10 upstreams[0].tls: expected true or false, or a map, got "yes"',
      '7:15 upstreams[0].protocol: expected one of "http1", "http2", "grpc"; got 2',
    ]);
  });

  it("rejects a document that is not a map", async () => {
    expect(lines(await gw.errors("- a\n- b\n"))).toEqual(["1:1 : expected a map, got a list"]);
  });

  it("checks names, ports, addresses, weights and integers", async () => {
    const errors = await gw.errors(yaml`
      listeners:
        - { name: Main, port: 0 }
        - { name: b, address: localhost, port: 80.5 }
      routes:
        - { name: r, upstreams: [{ name: echo, weight: 0 }, { name: api, weight: 1.5 }] }
      ${UPSTREAM}
    `);
    expect(lines(errors)).toEqual([
      '2:13 listeners[0].name: invalid name "Main": use lower-case letters, digits, "-" and "_", starting with a letter or digit',
      "2:25 listeners[0].port: must be at least 1 (got 0)",
      '3:25 listeners[1].address: invalid address "localhost": expected an IPv4 or IPv6 address',
      "3:42 listeners[1].port: expected an integer, got 80.5",
      "5:50 routes[0].upstreams[0].weight: must be at least 1 (got 0)",
      "5:76 routes[0].upstreams[1].weight: expected an integer, got 1.5",
    ]);
  });

  it("checks host and SNI syntax", async () => {
    const errors = await gw.errors(yaml`
      listeners:
        - name: s
          port: 443
          tls:
            certificates: [{ cert: certs/api.pem, key: certs/api.key, sni: ["*"] }]
      routes:
        - name: r
          upstream: echo
          hosts: ["api.*.com", "example.com:8080", "*.ok.example.com"]
      ${UPSTREAM}
    `);
    expect(lines(errors)).toEqual([
      '5:71 listeners[0].tls.certificates[0].sni[0]: invalid host "*": expected an exact name or "*.suffix" (no port, no other wildcard)',
      '9:13 routes[0].hosts[0]: invalid host "api.*.com": expected "*", an exact name or "*.suffix" (no port, no other wildcard)',
      '9:26 routes[0].hosts[1]: invalid host "example.com:8080": expected "*", an exact name or "*.suffix" (no port, no other wildcard)',
    ]);
  });

  it("checks regular expressions, including what RE2 lacks", async () => {
    const errors = await gw.errors(yaml`
      routes:
        - name: r
          upstream: echo
          match:
            path: { regex: "/(a" }
            headers: [{ name: x, regex: "(?=a)b" }]
            query: [{ name: q, regex: '(a)\\1' }]
          rewrite: { regex: { pattern: "[", substitution: "" } }
        - { name: ok, upstream: echo, match: { path: { regex: "^/(?P<v>v[0-9]+)/" } } }
      ${UPSTREAM}
    `);
    expect(lines(errors)).toEqual([
      '5:22 routes[0].match.path.regex: invalid regex "/(a": Unterminated group',
      '6:35 routes[0].match.headers[0].regex: invalid regex "(?=a)b": RE2 (Envoy\'s regex engine) has no lookahead or lookbehind',
      '7:33 routes[0].match.query[0].regex: invalid regex "(a)\\\\1": RE2 (Envoy\'s regex engine) has no backreferences',
      '8:34 routes[0].rewrite.regex.pattern: invalid regex "[": Unterminated character class',
    ]);
  });

  it("requires exactly one of each set of alternatives", async () => {
    const errors = await gw.errors(yaml`
      routes:
        - name: neither
          match: { path: { prefix: /a, exact: /a }, headers: [{ name: x }, { name: y, suffix: "" }], query: [{ name: q, exact: a, invert: true }] }
        - name: both
          upstream: echo
          upstreams: [{ name: api }]
          rewrite: {}
      ${UPSTREAM}
      plugins:
        - { name: p, filter: jwt-auth, module: my-filter.wasm }
        - { name: q, config: {} }
    `);
    expect(lines(errors)).toEqual([
      "2:5 routes[0]: give one of: upstream, upstreams",
      "3:20 routes[0].match.path: give only one of prefix, exact (they are alternatives)",
      "3:57 routes[0].match.headers[0]: give one of: exact, prefix, suffix, contains, regex, present",
      "3:89 routes[0].match.headers[1].suffix: must not be empty (to match any value, use present: true)",
      "3:133 routes[0].match.query[0].invert: a route cannot invert a query parameter exact test (Envoy has no negated query match); only present: true/false can be inverted",
      "4:5 routes[1]: give only one of upstream, upstreams (they are alternatives)",
      "7:14 routes[1].rewrite: give one of: prefix, regex",
      "10:5 plugins[0]: give only one of filter, module (they are alternatives)",
      "11:5 plugins[1]: give one of: filter, module",
    ]);
  });

  it("checks hash_on: exactly one key, a valid one, and only with a consistent-hash lb", async () => {
    const errors = await gw.errors(yaml`
      upstreams:
        - { name: a, endpoints: ["10.0.0.1:80"], lb: ring_hash, hash_on: {} }
        - { name: b, endpoints: ["10.0.0.1:80"], lb: maglev, hash_on: { header: x-user, cookie: s } }
        - { name: c, endpoints: ["10.0.0.1:80"], lb: ring_hash, hash_on: { header: "x user" } }
        - { name: c2, endpoints: ["10.0.0.1:80"], lb: ring_hash, hash_on: { query: "" } }
        - { name: d, endpoints: ["10.0.0.1:80"], lb: ring_hash, hash_on: { source_ip: false } }
        - { name: e, endpoints: ["10.0.0.1:80"], hash_on: { header: x-user } }
        - { name: f, endpoints: ["10.0.0.1:80"], lb: least_request, hash_on: { cookie: s } }
    `);
    expect(lines(errors)).toEqual([
      "2:68 upstreams[0].hash_on: give one of: header, cookie, query, source_ip",
      "3:65 upstreams[1].hash_on: give only one of header, cookie (they are alternatives)",
      '4:78 upstreams[2].hash_on.header: invalid header name "x user"',
      "5:78 upstreams[3].hash_on.query: must not be empty",
      "6:81 upstreams[4].hash_on.source_ip: expected true, got false",
      "7:53 upstreams[5].hash_on: hash_on needs lb: ring_hash or maglev (lb is round_robin, which hashes nothing)",
      "8:72 upstreams[6].hash_on: hash_on needs lb: ring_hash or maglev (lb is least_request, which hashes nothing)",
    ]);
  });

  it("checks endpoints, durations and status ranges", async () => {
    const errors = await gw.errors(yaml`
      upstreams:
        - name: u
          endpoints: ["10.0.0.1", "::1:80", "a b:80", "host:99999", { host: "[::1]", port: 80 }, 7]
          connect_timeout: 5 sec
          health_check: { interval: 0, expected_statuses: [[400, 200], 99] }
    `);
    expect(lines(errors)).toEqual([
      '3:17 upstreams[0].endpoints[0]: invalid endpoint "10.0.0.1": expected "host:port"',
      '3:29 upstreams[0].endpoints[1]: invalid endpoint "::1:80": write IPv6 addresses in brackets, e.g. "[::1]:8080"',
      '3:39 upstreams[0].endpoints[2]: invalid endpoint "a b:80": invalid host "a b": expected an IP address or a DNS name',
      '3:49 upstreams[0].endpoints[3]: invalid endpoint "host:99999": the port must be a number from 1 to 65535',
      '3:71 upstreams[0].endpoints[4].host: invalid host "[::1]": expected an IP address or a DNS name',
      "3:92 upstreams[0].endpoints[5]: expected a string or a map, got 7",
      '4:22 upstreams[0].connect_timeout: invalid duration "5 sec": use a number with a unit (ms, s, m, h) such as "250ms", "15s", "1m30s", or a number of seconds',
      "5:31 upstreams[0].health_check.interval: must be longer than 0",
      "5:54 upstreams[0].health_check.expected_statuses[0]: invalid status range [400, 200): need 100 <= start < end <= 600",
      "5:66 upstreams[0].health_check.expected_statuses[1]: must be at least 100 (got 99)",
    ]);
  });

  it("requires paths to start with a slash", async () => {
    const errors = await gw.errors(yaml`
      routes: [{ name: r, upstream: u, match: { path: { prefix: api } } }]
      upstreams: [{ name: u, endpoints: ["10.0.0.1:80"], health_check: { path: healthz } }]
    `);
    expect(lines(errors)).toEqual([
      '1:59 routes[0].match.path.prefix: a path must start with "/" (got "api")',
      '2:74 upstreams[0].health_check.path: a path must start with "/" (got "healthz")',
    ]);
  });

  it("checks plugin configs that are strings of JSON", async () => {
    const errors = await gw.errors(yaml`
      plugins:
        - { name: a, filter: jwt-auth, config: "{oops" }
        - { name: b, filter: jwt-auth, config: "[1]" }
        - { name: c, filter: jwt-auth, root_id: x }
    `);
    expect(lines(errors)).toEqual([
      expect.stringMatching(/^2:42 plugins\[0\]\.config: config is not valid JSON: /),
      "3:42 plugins[1].config: config must hold a JSON object",
      "4:43 plugins[2].root_id: root_id is for modules only (a suite filter's root_id is its name)",
    ]);
  });
});

describe("cross-reference errors", () => {
  it("reports duplicate names in every section, and duplicate listener addresses", async () => {
    const errors = await gw.errors(yaml`
      listeners:
        - { name: a, port: 80 }
        - { name: a, port: 81 }
        - { name: c, address: 0.0.0.0, port: 80 }
      routes:
        - { name: r, upstream: u }
        - { name: r, upstream: u }
      upstreams:
        - { name: u, endpoints: ["10.0.0.1:80"] }
        - { name: u, endpoints: ["10.0.0.1:80"] }
      plugins:
        - { name: p, filter: jwt-auth }
        - { name: p, filter: rate-limit }
    `);
    expect(lines(errors)).toEqual([
      '3:13 listeners[1].name: duplicate name "a": listeners[0] has it too',
      '4:40 listeners[2].port: 0.0.0.0:80 is already used by listener "a"',
      '7:13 routes[1].name: duplicate name "r": routes[0] has it too',
      '10:13 upstreams[1].name: duplicate name "u": upstreams[0] has it too',
      '13:13 plugins[1].name: duplicate name "p": plugins[0] has it too',
    ]);
  });

  it("reports references to unknown listeners, upstreams and plugins, listing the known ones", async () => {
    const errors = await gw.errors(yaml`
      listeners: [{ name: public, port: 80 }]
      routes:
        - name: r
          listeners: [public, publik]
          upstream: ech0
          plugins: [limit]
        - name: s
          upstreams: [{ name: api }, { name: nope }, { name: api }]
      ${UPSTREAM}
    `);
    expect(lines(errors)).toEqual([
      '4:25 routes[0].listeners[1]: no listener named "publik" (known: public)',
      '5:15 routes[0].upstream: no upstream named "ech0" (known: echo, api)',
      '6:15 routes[0].plugins[0]: no plugin named "limit" (no plugins are defined)',
      '8:40 routes[1].upstreams[1].name: no upstream named "nope" (known: echo, api)',
      '8:56 routes[1].upstreams[2].name: upstream "api" is already listed at upstreams[0]',
    ]);
  });

  it("does not call a reference unknown when its target has errors of its own", async () => {
    const errors = await gw.errors(yaml`
      routes: [{ name: r, upstream: broken }]
      upstreams: [{ name: broken, endpoints: [] }]
    `);
    expect(lines(errors)).toEqual(["2:40 upstreams[0].endpoints: must have at least 1 item"]);
  });

  it("allows one default certificate per listener and each server name once", async () => {
    const errors = await gw.errors(yaml`
      listeners:
        - name: s
          port: 443
          tls:
            certificates:
              - { cert: certs/api.pem, key: certs/api.key }
              - { cert: certs/api.pem, key: certs/api.key, sni: [a.example.com] }
              - { cert: certs/api.pem, key: certs/api.key }
              - { cert: certs/api.pem, key: certs/api.key, sni: [A.example.com] }
    `);
    expect(lines(errors)).toEqual([
      "8:11 listeners[0].tls.certificates[2]: a second default certificate (no sni): certificates[0] is the default; give this one sni",
      '9:60 listeners[0].tls.certificates[3].sni[0]: "a.example.com" is already served by certificates[1]',
    ]);
  });
});

describe("file errors", () => {
  it("reports unreadable certificate and key files with their absolute paths", async () => {
    mkdirSync(join(gw.dir, "a-directory"), { recursive: true });
    const errors = await gw.errors(yaml`
      listeners:
        - name: s
          port: 443
          tls:
            certificates:
              - cert: certs/missing.pem
                key: a-directory
    `);
    expect(lines(errors)).toEqual([
      `6:17 listeners[0].tls.certificates[0].cert: cannot read certificate file ${join(gw.dir, "certs/missing.pem")}: no such file`,
      `7:16 listeners[0].tls.certificates[0].key: cannot read key file ${join(gw.dir, "a-directory")}: not a regular file`,
    ]);
  });

  it("reports upstream CA files that are missing or not PEM, and a CA given with insecure_skip_verify", async () => {
    writeFileSync(join(gw.dir, "certs", "not-pem.txt"), "hello");
    const errors = await gw.errors(yaml`
      upstreams:
        - name: a
          endpoints: ["10.0.0.1:443"]
          tls: { ca: certs/missing-ca.pem }
        - name: b
          endpoints: ["10.0.0.1:443"]
          tls: { ca: certs/not-pem.txt }
        - name: c
          endpoints: ["10.0.0.1:443"]
          tls: { ca: certs/api.pem, insecure_skip_verify: true }
    `);
    expect(lines(errors)).toEqual([
      `4:16 upstreams[0].tls.ca: cannot read CA file ${join(gw.dir, "certs/missing-ca.pem")}: no such file`,
      `7:16 upstreams[1].tls.ca: ${join(gw.dir, "certs/not-pem.txt")} is not a PEM CA certificate (no "-----BEGIN CERTIFICATE-----")`,
      `10:53 upstreams[2].tls.insecure_skip_verify: ca and insecure_skip_verify: true exclude each other (a CA is only used to verify)`,
    ]);
  });

  it("reports a missing system trust store for upstream TLS without a ca", async () => {
    const upstreams = [
      { name: "a", endpoints: ["example.com:443"], tls: true },
      { name: "b", endpoints: ["example.com:443"], tls: { sni: "example.com" } },
      { name: "c", endpoints: ["example.com:443"], tls: { insecure_skip_verify: true } },
      { name: "d", endpoints: ["example.com:443"], tls: { ca: "certs/api.pem" } },
      { name: "e", endpoints: ["example.com:443"] },
    ];
    const store = join(gw.dir, "no-such-store.crt");
    expect(await checkUpstreamCaFiles(upstreams, gw.dir, store)).toEqual(
      [0, 1].map((i) => ({
        path: ["upstreams", i, "tls"],
        message: `cannot read the system trust store ${store} (no such file) to verify the upstream's certificate: give a ca file`,
      })),
    );
    expect(await checkUpstreamCaFiles(upstreams, gw.dir)).toEqual([]);
  });

  it("reports an unknown suite filter with the known ones (release builds only)", async () => {
    const errors = await gw.errors("plugins: [{ name: p, filter: jwt-auht }, { name: q, filter: jwt-auth.debug }]\n");
    expect(lines(errors)).toEqual([
      '1:30 plugins[0].filter: unknown filter "jwt-auht" (native policies: acl, cors, ip-restriction, request-size; suite Wasm filters: basic-auth, header-rewrite, jwt-auth, key-auth, rate-limit)',
      '1:61 plugins[1].filter: unknown filter "jwt-auth.debug" (native policies: acl, cors, ip-restriction, request-size; suite Wasm filters: basic-auth, header-rewrite, jwt-auth, key-auth, rate-limit)',
    ]);
  });

  it("reports a missing filters directory", async () => {
    const errors = await gw.errors("plugins: [{ name: p, filter: jwt-auth }]\n", { filtersDir: join(gw.dir, "no-such-dir") });
    expect(lines(errors)).toEqual([
      `1:30 plugins[0].filter: cannot list the suite filters in ${join(gw.dir, "no-such-dir")}: no such file`,
    ]);
  });

  it("reports unreadable modules and files that are not WebAssembly", async () => {
    writeFileSync(join(gw.dir, "text.wasm"), "not wasm");
    const errors = await gw.errors(yaml`
      plugins:
        - { name: a, module: missing.wasm }
        - { name: b, module: text.wasm }
    `);
    expect(lines(errors)).toEqual([
      `2:24 plugins[0].module: cannot read module ${join(gw.dir, "missing.wasm")}: no such file`,
      `3:24 plugins[1].module: ${join(gw.dir, "text.wasm")} is not a WebAssembly module (no "\\0asm" header)`,
    ]);
  });
});

describe("plugin config checks", () => {
  it("puts the filter's own messages on plugins[i].config, at the config's line", async () => {
    const calls: { rootId: string; config: string; name: string; size: number }[] = [];
    const checkPlugin: PluginChecker = async ({ bytes, rootId, config, name }) => {
      calls.push({ rootId, config, name, size: bytes.length });
      return { errors: name === "limit" ? ["requests_per_second: must be a positive number", "burst: unknown field"] : [], clusters: [] };
    };
    const errors = await gw.errors(
      yaml`
        plugins:
          - name: auth
            filter: jwt-auth
            config: { issuer: x }
          - name: limit
            filter: rate-limit
            config:
              requests_per_second: -1
          - name: own
            module: my-filter.wasm
            root_id: mine
      `,
      { checkPlugin },
    );
    expect(lines(errors)).toEqual([
      "8:7 plugins[1].config: requests_per_second: must be a positive number",
      "8:7 plugins[1].config: burst: unknown field",
    ]);
    expect(calls.map(({ size, ...c }) => c)).toEqual([
      { rootId: "jwt-auth", config: '{"issuer":"x"}', name: "auth" },
      { rootId: "rate-limit", config: '{"requests_per_second":-1}', name: "limit" },
      { rootId: "mine", config: "{}", name: "own" },
    ]);
  });

  it("points at the plugin when it has no config key, and reports a checker that fails", async () => {
    const errors = await gw.errors("plugins:\n  - name: a\n    filter: jwt-auth\n", {
      checkPlugin: async () => {
        throw new Error("module trapped");
      },
    });
    expect(lines(errors)).toEqual(["2:5 plugins[0].config: the config could not be checked: module trapped"]);
  });
});

describe("clusters a plugin's filter calls", () => {
  // Stands in for a filter that reports the clusters it will call, as the real ones do.
  const reporting =
    (clusters: { name: string; path: string }[]): PluginChecker =>
    async () => ({ errors: [], clusters });
  const jwks = { name: "nope", path: "providers[0].remote_jwks.cluster" };

  it("are references to upstreams: an unknown one is an error at the field, listing the known upstreams", async () => {
    const errors = await gw.errors(
      yaml`
        ${UPSTREAM}
        plugins:
          - name: auth
            filter: jwt-auth
            config:
              providers:
                - name: idp
                  remote_jwks: { cluster: nope, path: /jwks }
      `,
      { checkPlugin: reporting([jwks]) },
    );
    expect(lines(errors)).toEqual(['8:35 plugins[0].config.providers[0].remote_jwks.cluster: no upstream named "nope" (known: echo, api)']);
  });

  it("stop at the deepest node present when the path leaves the YAML, e.g. a config written as a JSON string", async () => {
    const errors = await gw.errors(
      yaml`
        plugins:
          - name: auth
            filter: jwt-auth
            config: '{"providers": [{"remote_jwks": {"cluster": "nope"}}]}'
      `,
      { checkPlugin: reporting([jwks, { name: "gone", path: "not a path" }]) },
    );
    expect(lines(errors)).toEqual([
      '4:13 plugins[0].config.providers[0].remote_jwks.cluster: no upstream named "nope" (no upstreams are defined)',
      '4:13 plugins[0].config: no upstream named "gone" (no upstreams are defined)',
    ]);
  });

  it("resolve to an upstream of that name; without a checker they are not known at all", async () => {
    const text = yaml`
      ${UPSTREAM}
      plugins: [{ name: auth, filter: jwt-auth, config: { providers: [{ remote_jwks: { cluster: nope } }] } }]
    `;
    expect((await gw.load(text, { checkPlugin: reporting([{ name: "api", path: "providers[0].remote_jwks.cluster" }]) })).ok).toBe(true);
    expect((await gw.load(text)).ok).toBe(true);
  });
});

describe("YAML syntax errors", () => {
  it("are reported with their line", async () => {
    const errors = await gw.errors("listeners:\n  - name: a\n    port: [80\nroutes: []\n");
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ source: "gateway.yaml", path: "" });
    expect(errors[0]?.line).toBeGreaterThanOrEqual(3);
  });

  it("include duplicate keys and several documents", async () => {
    expect(lines(await gw.errors("routes: []\nroutes: []\n"))).toEqual(["2:1 : Map keys must be unique"]);
    expect(lines(await gw.errors("routes: []\n---\nroutes: []\n"))).toEqual([
      expect.stringMatching(/^2:1 : Source contains multiple documents/),
    ]);
  });
});

describe("many errors at once", () => {
  it("reports every independent mistake in one run, in file order", async () => {
    const errors = await gw.errors(yaml`
      listeners:
        - { name: a, port: 70000 }
      routes:
        - { name: r, upstream: nope, timeout: soon }
      upstreams:
        - { name: u, endpoints: ["10.0.0.1:80"], lb: fastest }
      plugins:
        - { name: p, filter: nope }
    `);
    expect(errors.map((e) => [e.line, e.path])).toEqual([
      [2, "listeners[0].port"],
      [4, "routes[0].upstream"],
      [4, "routes[0].timeout"],
      [6, "upstreams[0].lb"],
      [8, "plugins[0].filter"],
    ]);
  });
});

describe("formatConfigErrors", () => {
  it("prints one compiler-style line per error", async () => {
    const errors = await gw.errors(yaml`
      routes:
        - name: r
          upstream: ech0
      ${UPSTREAM}
    `);
    expect(formatConfigErrors(errors)).toBe('gateway.yaml:3:15: routes[0].upstream: no upstream named "ech0" (known: echo, api)');
    expect(
      formatConfigErrors([
        { source: "gw.yaml", path: "", line: 0, column: 0, message: "cannot read" },
        { source: "gw.yaml", path: "", line: 2, column: 1, message: "bad" },
      ]),
    ).toBe("gw.yaml: cannot read\ngw.yaml:2:1: bad");
  });
});

describe("reserved names", () => {
  it("refuses an upstream named like the control plane's own cluster", async () => {
    const { loadGatewayConfig } = await import("../../../src/config/index.js");
    const r = await loadGatewayConfig('upstreams:\n  - { name: portico_xds, endpoints: ["127.0.0.1:1"] }\n', {
      source: "gw.yaml",
      baseDir: "/",
      filtersDir: "/nonexistent",
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => `${e.line}: ${e.path}: ${e.message}`)).toContain(
      '2: upstreams[0].name: "portico_xds" is reserved: it is the cluster Envoy reaches the control plane through',
    );
  });

  it("refuses a route named like the route that answers requests matching no route", async () => {
    const { loadGatewayConfig } = await import("../../../src/config/index.js");
    const yaml = 'routes:\n  - { name: portico_no_route, upstream: echo }\nupstreams:\n  - { name: echo, endpoints: ["127.0.0.1:1"] }\n';
    const r = await loadGatewayConfig(yaml, { source: "gw.yaml", baseDir: "/", filtersDir: "/nonexistent" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => `${e.line}: ${e.path}: ${e.message}`)).toContain(
      '2: routes[0].name: "portico_no_route" is reserved: it is the route answering 404 to requests that match no route',
    );
  });
});

describe("listener edge limits", () => {
  it("names each bad value at its field, with what is allowed", async () => {
    const errors = await gw.errors(yaml`
      listeners:
        - name: main
          port: 80
          headers_with_underscores_action: REJECT_REQUEST
          path_with_escaped_slashes_action: redirect
          normalize_path: "yes"
          max_request_headers_kb: 8193
          request_headers_timeout: 10 seconds
          stream_idle_timeout: -1
          per_connection_buffer_limit_bytes: 0
          http2: { max_concurrent_streams: 0, initial_stream_window_size: 1024, initial_connection_window_size: 2147483648, window: 1 }
    `);
    expect(lines(errors)).toEqual([
      '4:38 listeners[0].headers_with_underscores_action: expected one of "reject_request", "drop_header", "allow"; got "REJECT_REQUEST"',
      '5:39 listeners[0].path_with_escaped_slashes_action: expected one of "unescape_and_redirect", "reject_request", "unescape_and_forward", "keep_unchanged"; got "redirect"',
      '6:21 listeners[0].normalize_path: expected true or false, got "yes"',
      "7:29 listeners[0].max_request_headers_kb: must be at most 8192 (got 8193)",
      '8:30 listeners[0].request_headers_timeout: invalid duration "10 seconds": use a number with a unit (ms, s, m, h) such as "250ms", "15s", "1m30s", or a number of seconds',
      "9:26 listeners[0].stream_idle_timeout: must be at least 0 (got -1)",
      "10:40 listeners[0].per_connection_buffer_limit_bytes: must be at least 1 (got 0)",
      "11:38 listeners[0].http2.max_concurrent_streams: must be at least 1 (got 0)",
      "11:69 listeners[0].http2.initial_stream_window_size: must be at least 65535 (got 1024)",
      "11:107 listeners[0].http2.initial_connection_window_size: must be at most 2147483647 (got 2147483648)",
      '11:119 listeners[0].http2.window: unknown key "window" (expected one of: max_concurrent_streams, initial_stream_window_size, initial_connection_window_size)',
    ]);
  });

  it("refuses a header limit of 0 KiB, a fraction, and a buffer past 1 GiB", async () => {
    const errors = await gw.errors(yaml`
      listeners:
        - { name: a, port: 80, max_request_headers_kb: 0 }
        - { name: b, port: 81, max_request_headers_kb: 1.5, per_connection_buffer_limit_bytes: 1073741825 }
    `);
    expect(lines(errors)).toEqual([
      "2:50 listeners[0].max_request_headers_kb: must be at least 1 (got 0)",
      "3:50 listeners[1].max_request_headers_kb: expected an integer, got 1.5",
      "3:90 listeners[1].per_connection_buffer_limit_bytes: must be at most 1073741824 (got 1073741825)",
    ]);
  });
});
