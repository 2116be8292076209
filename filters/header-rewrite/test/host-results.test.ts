// What the host hands the module through its malloc (assembly/runtime/host-alloc.ts): results of
// the runtime's own calls go to a reused scratch, results too large for it (over 16 KiB) to a
// managed buffer that must be released, and every other allocation (the configuration Envoy
// hands over, here) must stay a managed buffer even right after a call that returned nothing.
import { readFileSync } from "node:fs";
import { beforeAll, expect, it } from "vitest";
import { ProxyWasmVm, runHttpRequest, type HeaderList } from "../../../emulator/index.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("header-rewrite")));
}, 180_000);

const CONFIG = {
  rules: [
    {
      request: {
        set: { "x-path": "${request.path}", "x-ip": "${source.ip}", "x-route": "[${property.portico.absent}]" },
        rename: { "x-big": "x-moved" },
      },
    },
  ],
};

const request = (path: string, big: string): HeaderList => [
  [":method", "GET"],
  [":path", path],
  [":authority", "a"],
  ["x-big", big],
];

it("serves header listings larger than the scratch, and releases them: memory stays flat", async () => {
  const vm = await ProxyWasmVm.load(module, { properties: { "source.address": "[2001:db8::7]:443" } });
  const p = vm.configurePlugin({ config: JSON.stringify(CONFIG), rootId: "header-rewrite" });
  expect(p.ok).toBe(true);
  const large = "L".repeat(40_000); // the listing is far above the 16 KiB scratch
  const one = (i: number) => {
    const big = i % 2 === 0 ? large : `small-${i}`;
    const r = runHttpRequest(p, { requestHeaders: request(`/p/${i}`, big) });
    expect(r.requestHeader("x-moved")).toBe(big);
    expect(r.requestHeader("x-big")).toBeUndefined();
    expect(r.requestHeader("x-path")).toBe(`/p/${i}`);
    expect(r.requestHeader("x-ip")).toBe("2001:db8::7");
    expect(r.requestHeader("x-route")).toBe("[]"); // an attribute Envoy does not know renders empty
  };
  for (let i = 0; i < 200; i++) one(i);
  const warm = vm.memoryBytes();
  for (let i = 200; i < 2_200; i++) one(i);
  // A listing left pinned would keep 40 KB per large request: 40 MB over these 1,000.
  expect(vm.memoryBytes()).toBeLessThanOrEqual(warm + 65536);
}, 120_000);

it("hands the configuration over as a managed buffer after a request whose property read found nothing", async () => {
  const vm = await ProxyWasmVm.load(module, { properties: { "source.address": "10.0.0.1:1" } });
  const first = vm.configurePlugin({ config: JSON.stringify(CONFIG), rootId: "header-rewrite", name: "one" });
  expect(first.ok).toBe(true);
  // The last host call of this request is the read of that unknown attribute, answered NotFound without a malloc.
  expect(runHttpRequest(first, { requestHeaders: request("/a", "b") }).requestHeader("x-route")).toBe("[]");
  // The next malloc is Envoy's for the second plugin's configuration (proxy_get_buffer_bytes).
  const second = vm.configurePlugin({
    config: JSON.stringify({ rules: [{ request: { set: { "x-second": "2" } } }] }),
    rootId: "header-rewrite",
    name: "two",
  });
  expect(second.ok).toBe(true);
  expect(runHttpRequest(first, { requestHeaders: request("/b", "c") }).requestHeader("x-moved")).toBe("c");
  expect(runHttpRequest(second, { requestHeaders: request("/c", "d") }).requestHeader("x-second")).toBe("2");
  expect(vm.failure).toBeUndefined();
});
