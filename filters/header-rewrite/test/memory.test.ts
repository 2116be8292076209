// A million requests through header-rewrite in the emulator: the VM's linear memory must stop
// growing after warm-up (memory the host hands the module is released, and garbage is
// collected). Run as part of `make test`; it takes some seconds, not minutes.
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { ProxyWasmVm, type HeaderList } from "../../../emulator/index.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";

const CONFIG = {
  rules: [
    {
      request: {
        set: { "x-a": "${request.header.user-agent}/${request.path}", "x-ip": "${source.ip}" },
        remove: ["x-drop"],
        add: { "x-b": "b" },
      },
      response: { set: { "x-r": "${request.method} ${response.header.content-type}" } },
    },
    { match: { path: { glob: "/api/**" } }, request: { rename: { "x-key": "x-legacy-key" } } },
  ],
};

it("keeps linear memory flat over 1,000,000 requests", async () => {
  const vm = await ProxyWasmVm.load(readFileSync(builtFilter("header-rewrite")), { properties: { "source.address": "192.0.2.7:40000" } });
  const p = vm.configurePlugin({ config: JSON.stringify(CONFIG), rootId: "header-rewrite" });
  expect(p.ok).toBe(true);
  const req: HeaderList = [
    [":method", "GET"],
    [":path", "/api/v1/items?q=1"],
    [":authority", "a"],
    ["user-agent", "bench"],
    ["x-drop", "1"],
    ["x-key", "k"],
  ];
  const resp: HeaderList = [
    [":status", "200"],
    ["content-type", "application/json"],
  ];
  const one = () => {
    const s = p.newHttpStream();
    s.sendRequestHeaders(req, { endOfStream: true });
    s.sendResponseHeaders(resp, { endOfStream: true });
    s.complete();
    return s;
  };
  const check = one();
  expect(check.requestHeader("x-legacy-key")).toBe("k");
  expect(check.responseHeader("x-r")).toBe("GET application/json");

  for (let i = 0; i < 50_000; i++) one(); // warm-up: the heap reaches its working size
  const afterWarmUp = vm.memoryBytes();
  const samples: number[] = [];
  for (let i = 1; i <= 950_000; i++) {
    one();
    if (i % 50_000 === 0) samples.push(vm.memoryBytes());
  }
  console.info(`header-rewrite linear memory: ${afterWarmUp} B after warm-up; samples: ${samples.join(", ")}`);
  // Flat: never more than one 64 KiB page above the warm-up size, and not growing at the end.
  expect(Math.max(...samples)).toBeLessThanOrEqual(afterWarmUp + 65536);
  expect(samples.at(-1)).toBe(samples.at(-5));
  expect(vm.metric("portico.header_rewrite.requests_total")).toBe(1_000_001);
}, 300_000);
