// suite: several Portico filters in one Envoy Wasm filter and one VM, so a chain pays Envoy's
// fixed price per Wasm filter (context create, a call per callback, delete) once instead of once
// per filter. Configuration: { "plugins": [ { "filter": "jwt-auth", "config": { ... } }, ... ] },
// in chain order. See filters/suite/README.md.
// The module also serves each member on its own (root_id jwt-auth, ...): every filter registers
// itself when imported.
// Entry points: what the members use (request and response headers, the tick, HTTP and gRPC
// answers); Envoy skips the callbacks a module does not export (assembly/runtime/entry/core.ts).
export * from "../../assembly/runtime/entry/core";
export * from "../../assembly/runtime/entry/request-headers";
export * from "../../assembly/runtime/entry/response-headers";
export * from "../../assembly/runtime/entry/tick";
export * from "../../assembly/runtime/entry/http-call";
export * from "../../assembly/runtime/entry/grpc";
import "../jwt-auth/index";
import "../key-auth/index";
import "../basic-auth/index";
import "../rate-limit/index";
import "../header-rewrite/index";
import { registerFilter } from "../../assembly/runtime";
import { FILTER, SuiteRoot } from "./root";

registerFilter(FILTER, (id: u32) => new SuiteRoot(id));
