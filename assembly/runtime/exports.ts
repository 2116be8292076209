// Every proxy-wasm ABI 0.2.1 entry point, dispatching to the contexts in ./registry: for modules
// that want them all (the test fixtures probing the runtime). Filters export only what they use
// from ./entry (see ./entry/core for why).
export * from "./entry/core";
export * from "./entry/done";
export * from "./entry/request-headers";
export * from "./entry/response-headers";
export * from "./entry/body";
export * from "./entry/trailers";
export * from "./entry/tick";
export * from "./entry/http-call";
export * from "./entry/grpc";
export * from "./entry/log";
export * from "./entry/rest";
