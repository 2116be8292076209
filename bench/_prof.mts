import { readFileSync } from "node:fs";
import { ProxyWasmVm, type HeaderList, type Plugin } from "../emulator/index.js";
import { HEADER_REWRITE_REALISTIC, RATE_LIMIT_REALISTIC, BENCH_HEADERS, BENCH_PATH } from "./scenarios.js";
const REQ: HeaderList = [[":method", "GET"], [":path", BENCH_PATH], [":authority", "bench"], [":scheme", "http"], ["x-forwarded-proto", "http"], ["x-request-id", "0b7c3f0e-1a2b-4c5d-8e9f-0123456789ab"], ...BENCH_HEADERS];
const RESP: HeaderList = [[":status", "200"], ["content-type", "text/plain"], ["x-envoy-upstream-service-time", "1"]];
function one(p: Plugin) { const s = p.newHttpStream(); s.sendRequestHeaders(REQ, { endOfStream: true }); s.sendResponseHeaders(RESP, { endOfStream: true }); s.complete(); }
const [file, root, n] = process.argv.slice(2);
const vm = await ProxyWasmVm.load(readFileSync(file!), { properties: { "source.address": "127.0.0.1:50000", "xds.route_name": "r" } });
const p = vm.configurePlugin({ config: JSON.stringify(root === "header-rewrite" ? HEADER_REWRITE_REALISTIC : RATE_LIMIT_REALISTIC), rootId: root });
for (let i = 0; i < Number(n); i++) one(p);
