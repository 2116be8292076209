// A filter that does nothing, on the Rust proxy-wasm SDK: beside `wasm-noop` (ours, on Portico's
// runtime layer) it shows the fixed cost of any Rust SDK filter in Envoy (the VM calls per
// stream and the SDK's dispatch), apart from what a filter's own work costs.
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(Noop) });
}}

struct Noop;

impl Context for Noop {}

impl HttpContext for Noop {}
