// What the benchmark's Rust plugins share (as bench/go/proxywasm is for the Go ones): the
// memory gauge that makes their vm_memory_bytes comparable with ours and Go's, and the client
// IP from the `source.address` property.
use std::cell::Cell;

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

/// Samples the VM's linear memory (64 KiB pages) into a gauge every 1024 calls of `tick`: what
/// our AssemblyScript filters (`memory.size`) and the Go port (`currentMemory`) report.
pub struct MemoryGauge {
    calls: Cell<u32>,
    gauge: u32,
}

impl MemoryGauge {
    pub fn new(name: &str) -> Self {
        let g = MemoryGauge {
            calls: Cell::new(0),
            gauge: hostcalls::define_metric(MetricType::Gauge, name).unwrap_or(0),
        };
        g.sample();
        g
    }

    pub fn tick(&self) {
        let n = self.calls.get().wrapping_add(1);
        self.calls.set(n);
        if n & 1023 == 0 {
            self.sample();
        }
    }

    fn sample(&self) {
        #[cfg(target_arch = "wasm32")]
        let _ = hostcalls::record_metric(
            self.gauge,
            (core::arch::wasm32::memory_size(0) as u64) << 16,
        );
    }
}

/// The IP of a host:port address ("10.0.0.1:5000" or "[::1]:5000"); anything else as is.
pub fn address_ip(a: &str) -> &str {
    if let Some(rest) = a.strip_prefix('[') {
        return match rest.find(']') {
            Some(i) => &rest[..i],
            None => a,
        };
    }
    match (a.bytes().filter(|&b| b == b':').count(), a.rfind(':')) {
        (1, Some(i)) => &a[..i],
        _ => a,
    }
}

/// The downstream client's IP (the `source.address` property without its port), if the host has it.
pub fn source_ip() -> Option<String> {
    let a = hostcalls::get_property(vec!["source", "address"])
        .ok()
        .flatten()?;
    Some(address_ip(&String::from_utf8_lossy(&a)).to_string())
}

#[cfg(test)]
mod tests {
    use super::address_ip;

    #[test]
    fn strips_the_port() {
        assert_eq!(address_ip("10.0.0.1:5000"), "10.0.0.1");
        assert_eq!(address_ip("[::1]:5000"), "::1");
        assert_eq!(address_ip("::1"), "::1");
        assert_eq!(address_ip("unix"), "unix");
    }
}
