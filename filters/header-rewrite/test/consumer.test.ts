// header-rewrite and the caller's identity (docs/consumers.md): ${consumer.name},
// ${consumer.groups} (the header form, "gold,beta") and ${consumer.credential} in templates of
// request and response actions, and `consumers` / `consumer_groups` conditions in a rule's match.
// The identity is the filter state an auth filter earlier in the chain wrote; the test puts it in
// the stream's properties as Envoy would hold it (test/unit/identity-chain.test.ts runs jwt-auth
// in front for real).
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { LogLevel, ProxyWasmVm, runHttpRequest, type Plugin, type Properties } from "../../../emulator/index.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("header-rewrite")));
}, 180_000);

async function plugin(config: object, countHostCalls = false): Promise<{ vm: ProxyWasmVm; p: Plugin }> {
  const vm = await ProxyWasmVm.load(module, { countHostCalls });
  const p = vm.configurePlugin({ config: JSON.stringify(config), rootId: "header-rewrite", name: "hr" });
  const errors = vm.logs.filter((l) => l.level >= LogLevel.Error).map((l) => l.message);
  expect(p.ok, errors.join("\n")).toBe(true);
  return { vm, p };
}

const ALICE: Properties = { portico_consumer: "alice", portico_consumer_groups: ",gold,beta,", portico_credential: "key:alice-laptop" };
const NO_GROUPS: Properties = { portico_consumer: "bob", portico_consumer_groups: ",", portico_credential: "basic:bob" };

function send(p: Plugin, properties: Properties = {}) {
  return runHttpRequest(p, {
    requestHeaders: [
      [":method", "GET"],
      [":path", "/x"],
      [":authority", "api.example.com"],
    ],
    properties,
    responseHeaders: [[":status", "200"]],
  });
}

const templates = {
  rules: [
    {
      request: {
        set: {
          "x-user": "${consumer.name}",
          "x-tiers": "${consumer.groups}",
          "x-cred": "${consumer.credential}",
          "x-who": "u=${consumer.name};",
        },
      },
      response: { set: { "x-served-for": "${consumer.name}" } },
    },
  ],
};

describe("${consumer.*} templates", () => {
  it("render the identity an auth filter left, in request and response actions", async () => {
    const { p } = await plugin(templates);
    const s = send(p, ALICE);
    expect(s.requestHeader("x-user")).toBe("alice");
    expect(s.requestHeader("x-tiers")).toBe("gold,beta");
    expect(s.requestHeader("x-cred")).toBe("key:alice-laptop");
    expect(s.requestHeader("x-who")).toBe("u=alice;");
    expect(s.responseHeader("x-served-for")).toBe("alice");
  });

  it("render empty for an unidentified caller (so a header of only that value is not written), and groups empty for none", async () => {
    const { p } = await plugin(templates);
    const anon = send(p);
    expect(anon.requestHeader("x-user")).toBeUndefined();
    expect(anon.requestHeader("x-tiers")).toBeUndefined();
    expect(anon.requestHeader("x-who")).toBe("u=;");
    expect(anon.responseHeader("x-served-for")).toBeUndefined();
    const bob = send(p, NO_GROUPS);
    expect(bob.requestHeader("x-user")).toBe("bob");
    expect(bob.requestHeader("x-tiers")).toBeUndefined();
  });

  it("with remove before set, a client's own copy never passes for an unidentified caller (as the README advises)", async () => {
    const { p } = await plugin({ rules: [{ request: { remove: ["x-user"], set: { "x-user": "${consumer.name}" } } }] });
    const forged = (props: Properties) =>
      runHttpRequest(p, {
        requestHeaders: [
          [":method", "GET"],
          [":path", "/x"],
          [":authority", "a"],
          ["x-user", "admin"],
        ],
        properties: props,
        responseHeaders: [[":status", "200"]],
      }).requestHeader("x-user");
    expect(forged({})).toBeUndefined();
    expect(forged(ALICE)).toBe("alice");
  });

  it("never take a client-sent header for the identity", async () => {
    const { p } = await plugin(templates);
    const s = runHttpRequest(p, {
      requestHeaders: [
        [":method", "GET"],
        [":path", "/x"],
        [":authority", "a"],
        ["x-consumer-name", "admin"],
        ["portico_consumer", "admin"],
      ],
      responseHeaders: [[":status", "200"]],
    });
    expect(s.requestHeader("x-user")).toBeUndefined();
  });

  it("read each identity value once per phase, only when a template uses it", async () => {
    const { vm, p } = await plugin(templates, true);
    vm.hostCalls.clear();
    send(p, ALICE);
    // Request phase: name (used twice), groups, credential; response phase: name.
    expect(vm.hostCalls.get("proxy_get_property")).toBe(4);
    const plain = await plugin({ rules: [{ request: { set: { "x-a": "1" } } }] }, true);
    plain.vm.hostCalls.clear();
    send(plain.p, ALICE);
    expect(plain.vm.hostCalls.get("proxy_get_property") ?? 0).toBe(0);
  });

  it("name the known variables when a template names an unknown consumer one", async () => {
    const vm = await ProxyWasmVm.load(module);
    const p = vm.configurePlugin({
      config: JSON.stringify({ rules: [{ request: { set: { "x-a": "${consumer.tier}" } } }] }),
      rootId: "header-rewrite",
    });
    expect(p.ok).toBe(false);
    expect(vm.logs.map((l) => l.message).join("\n")).toContain(
      "rules[0].request.set.x-a: unknown variable ${consumer.tier}; known: request.header.<name>, response.header.<name>",
    );
    expect(vm.logs.map((l) => l.message).join("\n")).toContain("consumer.name, consumer.groups, consumer.credential");
  });
});

describe("consumers and consumer_groups conditions", () => {
  it("apply a rule only to the named consumers or groups", async () => {
    const { p } = await plugin({
      rules: [
        { match: { consumer_groups: ["gold"] }, request: { set: { "x-priority": "high" } } },
        { match: { consumers: ["bob"] }, request: { set: { "x-bob": "1" } } },
      ],
    });
    expect(send(p, ALICE).requestHeader("x-priority")).toBe("high");
    expect(send(p, ALICE).requestHeader("x-bob")).toBeUndefined();
    expect(send(p, NO_GROUPS).requestHeader("x-priority")).toBeUndefined();
    expect(send(p, NO_GROUPS).requestHeader("x-bob")).toBe("1");
    expect(send(p).requestHeader("x-priority")).toBeUndefined();
    expect(send(p).requestHeader("x-bob")).toBeUndefined();
  });
});
