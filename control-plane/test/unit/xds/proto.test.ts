// The proto3 JSON codec: every special case of the JSON mapping the translator relies on,
// checked by encoding and decoding back (and, where the raw wire matters, by reading the
// protobuf message itself), plus errors that locate the mistake.
import { describe, expect, it } from "vitest";
import {
  ANY_TYPES,
  ProtoJsonError,
  decodeDiscoveryRequest,
  decodeDiscoveryResponse,
  decodeResource,
  encodeDiscoveryRequest,
  encodeDiscoveryResponse,
  encodeJson,
  encodeResource,
  envoyProtos,
} from "../../../src/xds/proto.js";
import { TypeUrl } from "../../../src/xds/types.js";
import { thrown } from "./fixtures.js";

const HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const WASM = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const STRING_VALUE = "type.googleapis.com/google.protobuf.StringValue";

const roundTrip = (typeUrl: string, json: object) => decodeResource(typeUrl, encodeResource(typeUrl, json));

function listener(hcm: Record<string, unknown>): Record<string, unknown> {
  return {
    name: "public",
    address: { socket_address: { address: "0.0.0.0", port_value: 8080 } },
    filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: { "@type": HCM, ...hcm } }] }],
  };
}

const errorOf = (fn: () => unknown) => thrown(fn, ProtoJsonError);

describe("proto loading", () => {
  it("loads the ADS service, the resource types and every Any type listed", () => {
    const root = envoyProtos();
    expect(root.lookupService("envoy.service.discovery.v3.AggregatedDiscoveryService").methods).toHaveProperty("StreamAggregatedResources");
    for (const url of Object.values(TypeUrl)) expect(() => root.lookupType(url.split("/")[1]!)).not.toThrow();
    for (const { type } of ANY_TYPES) expect(() => root.lookupType(type)).not.toThrow();
    expect(envoyProtos()).toBe(root); // loaded once
  });
});

describe("proto3 JSON to protobuf", () => {
  it("round-trips a listener with an HCM in an Any, and a Wasm config (StringValue) in an Any in that Any", () => {
    const json = listener({
      stat_prefix: "public",
      rds: { route_config_name: "public", config_source: { ads: {}, resource_api_version: "V3" } },
      http_filters: [
        {
          name: "portico.plugin.auth",
          typed_config: {
            "@type": WASM,
            config: {
              name: "auth",
              root_id: "jwt-auth",
              vm_config: { vm_id: "auth", runtime: "envoy.wasm.runtime.v8", code: { local: { filename: "/m.wasm" } } },
              configuration: { "@type": STRING_VALUE, value: '{"issuer":"x"}' },
            },
          },
        },
        { name: "envoy.filters.http.router", typed_config: { "@type": ROUTER } },
      ],
    });
    expect(roundTrip(TypeUrl.Listener, json)).toEqual(json);

    // The inner Any really is a StringValue on the wire, not a JSON object.
    const root = envoyProtos();
    const L = root.lookupType("envoy.config.listener.v3.Listener");
    const msg = L.toObject(L.decode(encodeResource(TypeUrl.Listener, json))) as any;
    const hcmAny = msg.filter_chains[0].filters[0].typed_config;
    expect(hcmAny.type_url).toBe(HCM);
    const H = root.lookupType(HCM.split("/")[1]!);
    const wasmAny = (H.toObject(H.decode(hcmAny.value)) as any).http_filters[0].typed_config;
    const W = root.lookupType(WASM.split("/")[1]!);
    const configuration = (W.toObject(W.decode(wasmAny.value)) as any).config.configuration;
    expect(configuration.type_url).toBe(STRING_VALUE);
    const S = root.lookupType("google.protobuf.StringValue");
    expect((S.toObject(S.decode(configuration.value)) as any).value).toBe('{"issuer":"x"}');
  });

  it("accepts camelCase and snake_case field names alike, with equal bytes", () => {
    const snake = { name: "c", connect_timeout: "1s", type: "STATIC", lb_policy: "ROUND_ROBIN" };
    const camel = { name: "c", connectTimeout: "1s", type: "STATIC", lbPolicy: "ROUND_ROBIN" };
    expect(encodeResource(TypeUrl.Cluster, camel)).toEqual(encodeResource(TypeUrl.Cluster, snake));
    expect(roundTrip(TypeUrl.Cluster, camel)).toEqual({ name: "c", connect_timeout: "1s", type: "STATIC" }); // ROUND_ROBIN is the default
  });

  it("parses durations, including fractions and negatives, and prints them back canonically", () => {
    const cluster = (d: string) => ({ name: "c", connect_timeout: d });
    expect(roundTrip(TypeUrl.Cluster, cluster("5s"))).toEqual(cluster("5s"));
    expect(roundTrip(TypeUrl.Cluster, cluster("0.250s"))).toEqual(cluster("0.250s"));
    expect(roundTrip(TypeUrl.Cluster, cluster("0.25s"))).toEqual(cluster("0.250s"));
    expect(roundTrip(TypeUrl.Cluster, cluster("1.000000001s"))).toEqual(cluster("1.000000001s"));
    const D = envoyProtos().lookupType("google.protobuf.Duration");
    expect(D.toObject(D.decode(encodeJson("google.protobuf.Duration", "-1.5s")), { longs: Number })).toEqual({
      seconds: -1,
      nanos: -500000000,
    });
    expect(errorOf(() => encodeResource(TypeUrl.Cluster, cluster("5"))).message).toBe(
      'Cluster "c": connect_timeout: expected a duration such as "5s" or "0.250s", got string "5"',
    );
    expect(errorOf(() => encodeResource(TypeUrl.Cluster, { name: "c", connect_timeout: { seconds: 5 } })).path).toBe("connect_timeout");
  });

  it("takes wrapper types as plain values", () => {
    const json = {
      name: "c",
      per_connection_buffer_limit_bytes: 32768, // UInt32Value
      ring_hash_lb_config: { minimum_ring_size: "1024" }, // UInt64Value, as a string
      lb_policy: "RING_HASH",
    };
    expect(roundTrip(TypeUrl.Cluster, json)).toEqual({ ...json, ring_hash_lb_config: { minimum_ring_size: "1024" } });
    const C = envoyProtos().lookupType("envoy.config.cluster.v3.Cluster");
    const msg = C.toObject(C.decode(encodeResource(TypeUrl.Cluster, json)), { longs: String }) as any;
    expect(msg.per_connection_buffer_limit_bytes).toEqual({ value: 32768 });
    expect(msg.ring_hash_lb_config.minimum_ring_size).toEqual({ value: "1024" });
    // A wrapper holding its default is still present (that is what wrappers are for).
    expect(roundTrip(TypeUrl.Cluster, { name: "c", per_connection_buffer_limit_bytes: 0 })).toEqual({
      name: "c",
      per_connection_buffer_limit_bytes: 0,
    });
    expect(errorOf(() => encodeResource(TypeUrl.Cluster, { name: "c", per_connection_buffer_limit_bytes: { value: 1 } })).message).toBe(
      'Cluster "c": per_connection_buffer_limit_bytes: expected an integer (uint32), got an object',
    );
  });

  it("takes Struct as plain JSON, keeping nesting, lists, null, booleans and numbers", () => {
    const metadata = { filter_metadata: { portico: { route: "r1", weight: 2.5, tags: ["a", 1, null, { deep: true }], none: null } } };
    const json = { name: "c", metadata };
    expect(roundTrip(TypeUrl.Cluster, json)).toEqual(json);
  });

  it("reads enums by name or number and rejects unknown names", () => {
    expect(roundTrip(TypeUrl.Cluster, { name: "c", type: "EDS" })).toEqual({ name: "c", type: "EDS" });
    expect(roundTrip(TypeUrl.Cluster, { name: "c", type: 3 })).toEqual({ name: "c", type: "EDS" });
    expect(errorOf(() => encodeResource(TypeUrl.Cluster, { name: "c", type: "EDSS" })).message).toMatch(
      /^Cluster "c": type: unknown envoy\.config\.cluster\.v3\.Cluster\.DiscoveryType value "EDSS" \(one of STATIC, STRICT_DNS/,
    );
  });

  it("keeps int64 values beyond 2^53 exact, as number or string", () => {
    const route = (attempts: string | number) => ({
      name: "r",
      virtual_hosts: [
        {
          name: "vh",
          domains: ["*"],
          routes: [{ match: { prefix: "/" }, route: { cluster: "c", retry_policy: { host_selection_retry_max_attempts: attempts } } }],
        },
      ],
    });
    const back = (v: string | number) =>
      (roundTrip(TypeUrl.Route, route(v)) as any).virtual_hosts[0].routes[0].route.retry_policy.host_selection_retry_max_attempts;
    expect(back("9007199254740993")).toBe("9007199254740993");
    expect(back(7)).toBe("7");
    expect(errorOf(() => encodeResource(TypeUrl.Route, route("9223372036854775808"))).reason).toBe(
      "9223372036854775808 is out of range for int64",
    );
  });

  it("takes bytes as base64 (standard or URL-safe)", () => {
    const pem = "-----BEGIN CERTIFICATE-----\n\xff\xfe\n";
    const b64 = Buffer.from(pem, "latin1").toString("base64");
    const secret = { name: "s", tls_certificate: { certificate_chain: { inline_bytes: b64 } } };
    expect(roundTrip(TypeUrl.Secret, secret)).toEqual(secret);
    const urlSafe = b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    expect(encodeResource(TypeUrl.Secret, { ...secret, tls_certificate: { certificate_chain: { inline_bytes: urlSafe } } })).toEqual(
      encodeResource(TypeUrl.Secret, secret),
    );
    expect(
      errorOf(() => encodeResource(TypeUrl.Secret, { name: "s", tls_certificate: { certificate_chain: { inline_bytes: "not base64!" } } }))
        .path,
    ).toBe("tls_certificate.certificate_chain.inline_bytes");
  });

  it("names the resource and the JSON path of an unknown field, through nested Anys", () => {
    const json = listener({ stat_prefx: "public" });
    expect(errorOf(() => encodeResource(TypeUrl.Listener, json)).message).toBe(
      'Listener "public": filter_chains[0].filters[0].typed_config.stat_prefx: unknown field',
    );
    const nested = listener({
      stat_prefix: "p",
      http_filters: [{ name: "w", typed_config: { "@type": WASM, config: { configuration: { "@type": STRING_VALUE, value: 42 } } } }],
    });
    expect(errorOf(() => encodeResource(TypeUrl.Listener, nested)).message).toBe(
      'Listener "public": filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.config.configuration.value: expected a string, got number 42',
    );
  });

  it("rejects an Any of a type that is not loaded, two members of one oneof, and a field given twice", () => {
    const unknownType = listener({
      stat_prefix: "p",
      http_filters: [{ name: "x", typed_config: { "@type": "type.googleapis.com/envoy.nope.Filter" } }],
    });
    expect(errorOf(() => encodeResource(TypeUrl.Listener, unknownType)).message).toBe(
      'Listener "public": filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.@type: type envoy.nope.Filter is not loaded (add it to ANY_TYPES in xds/proto.ts)',
    );
    const twoOfOneof = { name: "c", address: { socket_address: { address: "1.2.3.4", port_value: 1 }, pipe: { path: "/x" } } };
    expect(errorOf(() => encodeJson("envoy.config.core.v3.Address", twoOfOneof.address)).reason).toBe(
      "pipe and socket_address are both set, but only one of address may be",
    );
    expect(errorOf(() => encodeResource(TypeUrl.Cluster, { name: "c", connect_timeout: "1s", connectTimeout: "2s" })).message).toBe(
      'Cluster "c": connectTimeout: field connect_timeout is set twice',
    );
  });

  it("gives equal bytes for equal content, whatever order the JSON keys came in", () => {
    const a = { name: "c", metadata: { filter_metadata: { x: { b: 1, a: 2 } } }, connect_timeout: "1s" };
    const b = { connect_timeout: "1s", metadata: { filter_metadata: { x: { a: 2, b: 1 } } }, name: "c" };
    expect(encodeResource(TypeUrl.Cluster, a)).toEqual(encodeResource(TypeUrl.Cluster, b));
  });
});

describe("discovery messages", () => {
  it("round-trips a request with node, names and a NACK", () => {
    const req = {
      versionInfo: "3-abcdef01",
      node: { id: "envoy-1", cluster: "edge", userAgent: "envoy" },
      resourceNames: ["a", "b"],
      typeUrl: TypeUrl.Route,
      responseNonce: "7",
      errorDetail: { code: 13, message: "bad regex" },
    };
    expect(decodeDiscoveryRequest(encodeDiscoveryRequest(req))).toEqual(req);
    const bare = { versionInfo: "", resourceNames: [], typeUrl: TypeUrl.Cluster, responseNonce: "" };
    expect(decodeDiscoveryRequest(encodeDiscoveryRequest(bare))).toEqual(bare);
  });

  it("round-trips a response whose resources decode back to the JSON", () => {
    const cluster = { name: "c", connect_timeout: "1s" };
    const res = {
      versionInfo: "1-00000000",
      typeUrl: TypeUrl.Cluster,
      nonce: "1",
      resources: [{ typeUrl: TypeUrl.Cluster, value: encodeResource(TypeUrl.Cluster, cluster) }],
    };
    const back = decodeDiscoveryResponse(encodeDiscoveryResponse(res));
    expect({ ...back, resources: [] }).toEqual({ ...res, resources: [] });
    expect(back.resources.map((r) => decodeResource(r.typeUrl, r.value))).toEqual([cluster]);
  });
});
