// The identity headers the listeners strip are the ones the auth filters write: the control plane
// (TypeScript) and the filters (AssemblyScript) each name them, and this test holds the two lists
// together. And the strip is in the chain exactly when the gateway can identify callers.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { GatewayModel, PluginModel } from "../../../src/model/types.js";
import { CONSUMER_HEADERS, stripsIdentityHeaders } from "../../../src/translate/consumers.js";

// The filters define the headers with the identity itself (assembly/runtime/consumer.ts).
const AS_SOURCE = new URL("../../../../assembly/runtime/consumer.ts", import.meta.url);

describe("identity headers", () => {
  it("are the auth filters' CONSUMER_HEADERS", () => {
    const source = readFileSync(AS_SOURCE, "utf8");
    const constants = Object.fromEntries([...source.matchAll(/export const (\w+_HEADER) = "([^"]+)";/g)].map((m) => [m[1], m[2]]));
    const list = /export const CONSUMER_HEADERS: string\[\] = \[([^\]]*)\];/.exec(source)?.[1];
    const names = list?.split(",").map((n) => constants[n.trim()]);
    expect(names).toEqual([...CONSUMER_HEADERS]);
  });

  it("are stripped when the gateway has consumers, an auth filter or an ACL; not otherwise", () => {
    const wasm = (filter: string): PluginModel => ({
      kind: "wasm",
      name: filter,
      filter,
      rootId: filter,
      module: { sha256: "", path: "", size: 0 },
      config: "{}",
      global: false,
    });
    const model = (plugins: PluginModel[], consumers = 0): Pick<GatewayModel, "plugins" | "consumers"> => ({
      plugins,
      consumers: Array.from({ length: consumers }, (_, i) => ({ name: `c${i}`, groups: [], metadata: {}, keys: [], basic: [], jwt: [] })),
    });
    expect(stripsIdentityHeaders(model([wasm("rate-limit"), wasm("custom")]))).toBe(false);
    expect(stripsIdentityHeaders(model([], 1))).toBe(true);
    for (const f of ["key-auth", "basic-auth", "jwt-auth"]) expect(stripsIdentityHeaders(model([wasm(f)])), f).toBe(true);
    const acl: PluginModel = { kind: "native", name: "acl", global: false, policy: { filter: "acl", config: { allow: null, deny: null } } };
    expect(stripsIdentityHeaders(model([acl]))).toBe(true);
  });
});
