// listeners[].access_log: what the loader accepts and refuses (located, before Envoy ever sees
// it), and what reaches Envoy: an access logger in the listener's connection manager, encodable
// as xDS. That Envoy accepts it and writes the lines: golden-validate and prometheus e2e tests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigError } from "../../../src/config/index.js";
import { DEFAULT_ACCESS_LOG_FIELDS, formatStringError } from "../../../src/config/schema-access-log.js";
import type { GatewayModel } from "../../../src/model/types.js";
import { translate } from "../../../src/translate/index.js";
import { SnapshotCache } from "../../../src/xds/cache.js";
import { TypeUrl } from "../../../src/xds/types.js";
import { type GatewayDir, makeGatewayDir, yaml } from "../config/fixtures.js";

let gw: GatewayDir;
beforeAll(() => {
  gw = makeGatewayDir();
});
afterAll(() => gw.remove());

const lines = (errors: ConfigError[]) => errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`);

async function model(text: string): Promise<GatewayModel> {
  const r = await gw.load(text);
  if (!r.ok) throw new Error(lines(r.errors).join("\n"));
  return r.model;
}

const listener = (accessLog: string) => yaml`
  listeners:
    - name: main
      port: 8080
      access_log: ${accessLog}
`;

describe("access_log in the config", () => {
  it("is off unless asked for", async () => {
    const m = await model("listeners: [{ name: main, port: 8080 }]\n");
    expect(m.listeners[0]!.accessLog).toBeNull();
  });

  it("{}: JSON lines with the default fields on Envoy's stdout", async () => {
    expect((await model(listener("{}"))).listeners[0]!.accessLog).toEqual({
      path: "/dev/stdout",
      format: "json",
      fields: DEFAULT_ACCESS_LOG_FIELDS,
    });
    expect(Object.keys(DEFAULT_ACCESS_LOG_FIELDS)).toEqual(
      expect.arrayContaining([
        "start_time",
        "method",
        "path",
        "protocol",
        "status",
        "response_flags",
        "bytes_received",
        "bytes_sent",
        "duration_ms",
        "upstream_host",
        "upstream_cluster",
        "route_name",
        "x_request_id",
        "user_agent",
        "client_ip",
        "authority",
      ]),
    );
  });

  it("fields add to, replace and drop default fields; the defaults keep their order", async () => {
    const a = (
      await model(listener(`{ path: /tmp/a.log, fields: { tenant: "%REQ(X-TENANT)%", status: "%RESPONSE_CODE%!", user_agent: null } }`))
    ).listeners[0]!.accessLog;
    expect(a?.format).toBe("json");
    if (a?.format !== "json") return;
    expect(a.path).toBe("/tmp/a.log");
    const names = Object.keys(a.fields);
    expect(names).not.toContain("user_agent");
    expect(names.at(-1)).toBe("tenant");
    expect(names.slice(0, 5)).toEqual(["start_time", "method", "path", "protocol", "status"]);
    expect(a.fields.status).toBe("%RESPONSE_CODE%!");
  });

  it("text: a template, or Envoy's default line", async () => {
    expect((await model(listener(`{ format: text, template: "%REQ(:METHOD)% %RESPONSE_CODE%" }`))).listeners[0]!.accessLog).toEqual({
      path: "/dev/stdout",
      format: "text",
      template: "%REQ(:METHOD)% %RESPONSE_CODE%",
    });
    expect((await model(listener("{ format: text }"))).listeners[0]!.accessLog).toEqual({
      path: "/dev/stdout",
      format: "text",
      template: null,
    });
  });

  it("refuses, at their line, what Envoy would refuse or what makes no sense", async () => {
    const errors = await gw.errors(yaml`
      listeners:
        - name: a
          port: 8080
          access_log: { path: logs/a.log, format: xml }
        - name: b
          port: 8081
          access_log:
            fields: { bad: "100 % sure", x: "%req(x)%" }
            template: "%START_TIME%"
        - name: c
          port: 8082
          access_log: { format: text, fields: { a: "%PROTOCOL%" } }
        - name: d
          port: 8083
          access_log: { fields: { method: null }, unknown: 1 }
        - name: e
          port: 8084
          access_log: true
        - name: f
          port: 8085
          access_log: { fields: { a: 5 }, path: "" }
    `);
    expect(lines(errors)).toEqual([
      '4:25 listeners[0].access_log.path: the access log path is opened by Envoy and must be absolute (got "logs/a.log")',
      '4:45 listeners[0].access_log.format: expected one of "json", "text"; got "xml"',
      '8:22 listeners[1].access_log.fields.bad: "100 % sure": no command operator at position 4 (operators are written %NAME%, %NAME(arg)% or %NAME(arg):max%, in capitals; %% is a literal %)',
      '8:39 listeners[1].access_log.fields.x: "%req(x)%": no command operator at position 0 (operators are written %NAME%, %NAME(arg)% or %NAME(arg):max%, in capitals; %% is a literal %)',
      "9:17 listeners[1].access_log.template: template is for format: text (JSON lines are shaped with fields)",
      "12:41 listeners[2].access_log.fields: fields is for format: json (a text line is written with template)",
      '15:45 listeners[3].access_log.unknown: unknown key "unknown" (expected one of: path, format, fields, template)',
      "18:17 listeners[4].access_log: expected a map, got true",
      "21:32 listeners[5].access_log.fields.a: expected a string, got 5",
      '21:43 listeners[5].access_log.path: the access log path is opened by Envoy and must be absolute (got "")',
    ]);
  });

  it("accepts Envoy's operator grammar: arguments, a max length, %% for a literal percent", () => {
    for (const ok of ["%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)%", "%REQ(USER-AGENT):10%", "100%% %DURATION%ms", "plain", ""]) {
      expect(formatStringError(ok), ok).toBeNull();
    }
    for (const bad of ["%", "50%", "%DURATION", "%Duration%", "%REQ(X%"]) expect(formatStringError(bad), bad).not.toBeNull();
  });
});

describe("access_log in Envoy's config", () => {
  const hcmOf = (m: GatewayModel) => {
    const r = translate({ model: m, certificates: new Map(), modules: new Map() });
    const l = r[TypeUrl.Listener].get("main") as { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] };
    return { hcm: l.filter_chains[0]!.filters[0]!.typed_config, resources: r };
  };

  it("is Envoy's file access logger in the connection manager, and encodes as xDS", async () => {
    const m = await model(listener(`{ path: /tmp/x.log, fields: { tenant: "%REQ(X-TENANT)%" } }`));
    const { hcm, resources } = hcmOf(m);
    expect(hcm.access_log).toEqual([
      {
        name: "envoy.access_loggers.file",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
          path: "/tmp/x.log",
          log_format: { json_format: { ...DEFAULT_ACCESS_LOG_FIELDS, tenant: "%REQ(X-TENANT)%" } },
        },
      },
    ]);
    const cache = new SnapshotCache();
    cache.set("*", resources);
    const encoded = cache.get("*")!.types[TypeUrl.Listener].resources.get("main")!.json;
    expect(JSON.stringify(encoded)).toContain('"tenant":"%REQ(X-TENANT)%"');
  });

  it("writes /dev/stdout and /dev/stderr through Envoy's stream loggers (opening /dev/stdout fails when it is a socket)", async () => {
    const out = hcmOf(await model(listener("{}"))).hcm.access_log as { name: string; typed_config: Record<string, unknown> }[];
    expect(out[0]!.name).toBe("envoy.access_loggers.stdout");
    expect(out[0]!.typed_config["@type"]).toBe("type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog");
    expect(out[0]!.typed_config).not.toHaveProperty("path");
    expect(out[0]!.typed_config.log_format).toEqual({ json_format: DEFAULT_ACCESS_LOG_FIELDS });
    const err = hcmOf(await model(listener("{ path: /dev/stderr, format: text }"))).hcm.access_log as {
      name: string;
      typed_config: object;
    }[];
    expect(err).toEqual([
      {
        name: "envoy.access_loggers.stderr",
        typed_config: { "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog" },
      },
    ]);
  });

  it("ends a text template with a newline, and is absent when off", async () => {
    const text = hcmOf(await model(listener(`{ format: text, template: "%RESPONSE_CODE%" }`))).hcm.access_log as {
      typed_config: { log_format: unknown };
    }[];
    expect(text[0]!.typed_config.log_format).toEqual({ text_format_source: { inline_string: "%RESPONSE_CODE%\n" } });
    expect(hcmOf(await model("listeners: [{ name: main, port: 8080 }]\n")).hcm).not.toHaveProperty("access_log");
  });
});
