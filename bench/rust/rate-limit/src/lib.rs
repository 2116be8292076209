// rate-limit in Rust on the proxy-wasm SDK: a port of bench/go/rate-limit (the behaviour of
// filters/rate-limit for the config `npm run bench` uses) — token buckets (GCRA, exact integer
// arithmetic) per rule and per client IP, in proxy-wasm shared data updated with
// compare-and-swap, so all Envoy workers share one limit. Same slot scheme as ours and Go's: a
// key hashes (FNV-1a) to one of max_keys slots and probes up to 8 neighbours; a slot holds the
// TAT (i64 little-endian) and the first 16 bytes of the key's SHA-256; an idle slot can be taken
// over; when all probed slots are busy the rule's overflow bucket is charged. Same 429 answer and
// metrics (under `rust.`), its own shared-data key prefix (`rust.rl|`), as Go has `go.rl|`.
// Key parts other than client_ip and fixed, dry_run, trusted_hops and RateLimit-* headers on
// allowed requests are left out, as in the Go port: the benchmark does not use them.
use std::rc::Rc;

use bench_support::{source_ip, MemoryGauge};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType, Status};
use serde::Deserialize;
use sha2::{Digest, Sha256};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

#[derive(Deserialize)]
struct KeyPart {
    #[serde(default)]
    client_ip: bool,
    fixed: Option<String>,
}

#[derive(Deserialize)]
struct RuleConfig {
    #[serde(default)]
    name: String,
    #[serde(default)]
    requests: i64,
    #[serde(default)]
    period_s: i64,
    #[serde(default)]
    burst: i64,
    #[serde(default)]
    key: Vec<KeyPart>,
}

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    stat_prefix: String,
    #[serde(default)]
    max_keys: u32,
    #[serde(default)]
    rules: Vec<RuleConfig>,
}

const PROBES: u32 = 8;
const MAX_CAS_ATTEMPTS: u32 = 64;
const OWNER_BYTES: usize = 16;

/// A limit in "scaled milliseconds" (ms x requests): one token is exactly period_ms units.
#[derive(Clone, Copy)]
struct Limit {
    requests: i64,
    period_ms: i64,
    burst: i64,
}

#[derive(Default)]
struct Verdict {
    allowed: bool,
    tat: i64,
    reset_ms: i64,
    retry_after_ms: i64,
}

fn ceil_div(a: i64, b: i64) -> i64 {
    if a <= 0 {
        0
    } else {
        (a + b - 1) / b
    }
}

/// GCRA: charges one request against the stored TAT (-1: none yet).
fn admit(l: Limit, stored: i64, now_ms: i64) -> Verdict {
    let t = now_ms * l.requests;
    let tat = stored.max(t);
    let next = tat + l.period_ms;
    let capacity = l.burst * l.period_ms;
    if next - t > capacity {
        return Verdict {
            allowed: false,
            tat: if stored < 0 { t } else { stored },
            retry_after_ms: ceil_div(next - t - capacity, l.requests),
            reset_ms: ceil_div(tat - t, l.requests),
        };
    }
    Verdict {
        allowed: true,
        tat: next,
        reset_ms: ceil_div(next - t, l.requests),
        retry_after_ms: 0,
    }
}

fn is_idle(l: Limit, tat: i64, now_ms: i64) -> bool {
    tat <= now_ms * l.requests
}

fn fnv1a(s: &str) -> u32 {
    s.bytes()
        .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619))
}

struct Rule {
    name: String,
    limit: Limit,
    key: Vec<KeyPart>,
    prefix: String,
    allowed: u32,
    limited: u32,
    cas_retries: u32,
}

struct Plugin {
    rules: Vec<Rule>,
    max_keys: u32,
    memory: MemoryGauge,
}

#[derive(Default)]
struct Root {
    plugin: Option<Rc<Plugin>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        let cfg: Config = match serde_json::from_slice::<Config>(&raw) {
            Ok(c) if !c.rules.is_empty() => c,
            _ => {
                let _ = hostcalls::log(LogLevel::Error, "rust-rate-limit: invalid configuration");
                return false;
            }
        };
        let base = if cfg.stat_prefix.is_empty() {
            "rust.rate_limit.".to_string()
        } else {
            format!("rust.rate_limit.{}.", cfg.stat_prefix)
        };
        let counter = |n: String| hostcalls::define_metric(MetricType::Counter, &n).unwrap_or(0);
        let plugin_name = self
            .get_property(vec!["plugin_name"])
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let rules = cfg
            .rules
            .into_iter()
            .map(|rc| Rule {
                limit: Limit {
                    requests: rc.requests,
                    period_ms: rc.period_s * 1000,
                    burst: if rc.burst == 0 { rc.requests } else { rc.burst },
                },
                prefix: format!("rust.rl|{plugin_name}|{}|{}|", cfg.stat_prefix, rc.name),
                allowed: counter(format!("{base}{}.allowed_total", rc.name)),
                limited: counter(format!("{base}{}.limited_total", rc.name)),
                cas_retries: counter(format!("{base}{}.cas_retries_total", rc.name)),
                key: rc.key,
                name: rc.name,
            })
            .collect();
        self.plugin = Some(Rc::new(Plugin {
            rules,
            max_keys: if cfg.max_keys == 0 {
                10000
            } else {
                cfg.max_keys
            },
            memory: MemoryGauge::new(&format!("{base}vm_memory_bytes")),
        }));
        let _ = hostcalls::log(LogLevel::Info, "rust-rate-limit: configured");
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            plugin: self.plugin.clone()?,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

fn key_value(p: &KeyPart) -> String {
    if p.client_ip {
        return source_ip().unwrap_or_default();
    }
    p.fixed.clone().unwrap_or_default()
}

fn rule_key(ru: &Rule) -> String {
    match ru.key.as_slice() {
        [] => "global".to_string(),
        [one] => key_value(one),
        parts => parts
            .iter()
            .map(|p| {
                let v = key_value(p);
                format!("{}:{v}", v.len())
            })
            .collect(),
    }
}

impl Plugin {
    /// Charges one request for `key` on the rule's buckets.
    fn take(&self, ru: &Rule, key: &str, now_ms: i64) -> Verdict {
        let sum = Sha256::digest(key.as_bytes());
        let owner = &sum[..OWNER_BYTES];
        let h = fnv1a(key);
        let mut p = 0;
        while p < PROBES && p < self.max_keys {
            let slot = format!("{}{}", ru.prefix, h.wrapping_add(p) % self.max_keys);
            if let Some(v) = try_slot(ru, &slot, owner, now_ms, false) {
                return v;
            }
            p += 1;
        }
        try_slot(ru, &format!("{}overflow", ru.prefix), owner, now_ms, true).unwrap_or_default()
    }
}

/// None: the slot belongs to another key that is not idle.
fn try_slot(ru: &Rule, slot: &str, owner: &[u8], now_ms: i64, any_owner: bool) -> Option<Verdict> {
    for _ in 0..MAX_CAS_ATTEMPTS {
        let (value, cas) = hostcalls::get_shared_data(slot).unwrap_or((None, None));
        let mut tat = -1;
        if let Some(value) = value {
            let stored = match value.get(..8) {
                Some(b) => i64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
                None => -1,
            };
            if any_owner || (value.len() == 8 + OWNER_BYTES && &value[8..] == owner) {
                tat = stored;
            } else if !is_idle(ru.limit, stored, now_ms) {
                return None;
            }
        }
        let v = admit(ru.limit, tat, now_ms);
        if !v.allowed {
            return Some(v);
        }
        let mut buf = [0u8; 8 + OWNER_BYTES];
        buf[..8].copy_from_slice(&v.tat.to_le_bytes());
        buf[8..].copy_from_slice(owner);
        // No entry yet: CAS token 0, which the host takes as an unconditional write (as Go's port).
        match hostcalls::set_shared_data(slot, Some(&buf), Some(cas.unwrap_or(0))) {
            Ok(()) => return Some(v),
            Err(Status::CasMismatch) => {
                let _ = hostcalls::increment_metric(ru.cas_retries, 1);
            }
            Err(_) => {
                return Some(Verdict {
                    retry_after_ms: 1000,
                    ..Verdict::default()
                })
            }
        }
    }
    Some(Verdict {
        retry_after_ms: 1000,
        ..Verdict::default()
    })
}

fn seconds(ms: i64) -> String {
    ((ms + 999) / 1000).max(1).to_string()
}

struct Stream {
    plugin: Rc<Plugin>,
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let plugin = &self.plugin;
        plugin.memory.tick();
        let now_ms = self
            .get_current_time()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        for ru in &plugin.rules {
            let v = plugin.take(ru, &rule_key(ru), now_ms);
            if v.allowed {
                let _ = hostcalls::increment_metric(ru.allowed, 1);
                continue;
            }
            let _ = hostcalls::increment_metric(ru.limited, 1);
            let body = format!(r#"{{"error":"rate_limited","rule":"{}"}}"#, ru.name);
            let (retry, limit, reset) = (
                seconds(v.retry_after_ms),
                ru.limit.burst.to_string(),
                seconds(v.reset_ms),
            );
            self.send_http_response(
                429,
                vec![
                    ("content-type", "application/json"),
                    ("retry-after", &retry),
                    ("ratelimit-limit", &limit),
                    ("ratelimit-remaining", "0"),
                    ("ratelimit-reset", &reset),
                ],
                Some(body.as_bytes()),
            );
            return Action::Pause;
        }
        Action::Continue
    }
}
