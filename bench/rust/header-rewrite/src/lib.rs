// header-rewrite in Rust on the proxy-wasm SDK: a line-for-line port of bench/go/header-rewrite
// (itself the behaviour of filters/header-rewrite for the subset of its config that `npm run
// bench` uses): rules matched on path prefix/exact, methods and header exact/present; request and
// response remove, rename, set, set_if_absent and add, values with ${...} templates for
// request.path, request.method, request.header.<name>, response.header.<name>, source.ip. Same
// order of operations (remove, rename, set, set_if_absent, add; map keys sorted), request values
// captured for the response phase, same metrics under `rust.` instead of `go.`. A benchmark
// counterpart, not a product: unknown config fields are ignored rather than refused.
//
// Header operations go through proxy_wasm::hostcalls (what the SDK's HttpContext methods call)
// so a failed call counts as an error the way the Go port counts it, instead of the trait
// methods' unwrap.
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use bench_support::{source_ip, MemoryGauge};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType, MetricType};
use serde::Deserialize;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

#[derive(Deserialize, Default)]
struct PathMatch {
    prefix: Option<String>,
    exact: Option<String>,
}

#[derive(Deserialize)]
struct HeaderMatch {
    name: String,
    exact: Option<String>,
    // `present: true` needs no field: a listed header must be present either way.
}

#[derive(Deserialize, Default)]
struct MatchConfig {
    path: Option<PathMatch>,
    #[serde(default)]
    methods: Vec<String>,
    #[serde(default)]
    headers: Vec<HeaderMatch>,
}

#[derive(Deserialize, Default)]
struct ActionsConfig {
    #[serde(default)]
    remove: Vec<String>,
    #[serde(default)]
    rename: BTreeMap<String, String>,
    #[serde(default)]
    set: BTreeMap<String, String>,
    #[serde(default)]
    set_if_absent: BTreeMap<String, String>,
    #[serde(default)]
    add: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RuleConfig {
    #[serde(rename = "match")]
    match_: Option<MatchConfig>,
    request: Option<ActionsConfig>,
    response: Option<ActionsConfig>,
}

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    stat_prefix: String,
    #[serde(default)]
    rules: Vec<RuleConfig>,
}

/// One piece of a template, parsed once at configure time.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Part {
    Literal(String),
    Path,
    Method,
    RequestHeader(String),
    ResponseHeader(String),
    SourceIp,
}

impl Part {
    /// Whether the response phase reads this from the request (captured in the request phase).
    fn is_request_scoped(&self) -> bool {
        matches!(self, Part::Path | Part::Method | Part::RequestHeader(_))
    }
}

type Template = Vec<Part>;

fn parse_template(mut s: &str) -> Template {
    let mut t = Template::new();
    while !s.is_empty() {
        let Some(i) = s.find("${") else { break };
        let Some(j) = s[i..].find('}') else { break };
        if i > 0 {
            t.push(Part::Literal(s[..i].to_string()));
        }
        let name = &s[i + 2..i + j];
        if name == "request.path" {
            t.push(Part::Path);
        } else if name == "request.method" {
            t.push(Part::Method);
        } else if name == "source.ip" {
            t.push(Part::SourceIp);
        } else if let Some(h) = name.strip_prefix("request.header.") {
            t.push(Part::RequestHeader(h.to_string()));
        } else if let Some(h) = name.strip_prefix("response.header.") {
            t.push(Part::ResponseHeader(h.to_string()));
        }
        s = &s[i + j + 1..];
    }
    if !s.is_empty() {
        t.push(Part::Literal(s.to_string()));
    }
    t
}

enum OpKind {
    Remove,
    Rename(String),
    Set(Template),
    SetIfAbsent(Template),
    Add(Template),
}

struct Op {
    name: String,
    kind: OpKind,
}

impl Op {
    fn value(&self) -> Option<&Template> {
        match &self.kind {
            OpKind::Set(t) | OpKind::SetIfAbsent(t) | OpKind::Add(t) => Some(t),
            OpKind::Remove | OpKind::Rename(_) => None,
        }
    }
}

fn compile_ops(a: Option<ActionsConfig>) -> Vec<Op> {
    let Some(a) = a else { return Vec::new() };
    let mut ops = Vec::new();
    for n in a.remove {
        ops.push(Op {
            name: n.to_lowercase(),
            kind: OpKind::Remove,
        });
    }
    for (n, target) in a.rename {
        ops.push(Op {
            name: n.to_lowercase(),
            kind: OpKind::Rename(target.to_lowercase()),
        });
    }
    for (n, v) in a.set {
        ops.push(Op {
            name: n.to_lowercase(),
            kind: OpKind::Set(parse_template(&v)),
        });
    }
    for (n, v) in a.set_if_absent {
        ops.push(Op {
            name: n.to_lowercase(),
            kind: OpKind::SetIfAbsent(parse_template(&v)),
        });
    }
    for (n, v) in a.add {
        ops.push(Op {
            name: n.to_lowercase(),
            kind: OpKind::Add(parse_template(&v)),
        });
    }
    ops
}

struct Rule {
    matcher: Option<MatchConfig>,
    request: Vec<Op>,
    response: Vec<Op>,
    /// Request-scoped variables the response ops read.
    response_reads: Vec<Part>,
}

/// The configured plugin, shared by the root context and its streams.
struct Plugin {
    rules: Vec<Rule>,
    has_response: bool,
    requests: u32,
    applied: u32,
    errors: u32,
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
        let cfg: Config = match serde_json::from_slice(&raw) {
            Ok(c) => c,
            Err(e) => {
                let _ = hostcalls::log(
                    LogLevel::Error,
                    &format!("rust-header-rewrite: invalid configuration: {e}"),
                );
                return false;
            }
        };
        let mut rules = Vec::new();
        let mut has_response = false;
        for rc in cfg.rules {
            let request = compile_ops(rc.request);
            let response = compile_ops(rc.response);
            let response_reads = response
                .iter()
                .filter_map(Op::value)
                .flatten()
                .filter(|p| p.is_request_scoped())
                .cloned()
                .collect();
            has_response |= !response.is_empty();
            rules.push(Rule {
                matcher: rc.match_,
                request,
                response,
                response_reads,
            });
        }
        let base = if cfg.stat_prefix.is_empty() {
            "rust.header_rewrite.".to_string()
        } else {
            format!("rust.header_rewrite.{}.", cfg.stat_prefix)
        };
        let counter = |n: &str| {
            hostcalls::define_metric(MetricType::Counter, &format!("{base}{n}")).unwrap_or(0)
        };
        self.plugin = Some(Rc::new(Plugin {
            rules,
            has_response,
            requests: counter("requests_total"),
            applied: counter("rules_applied_total"),
            errors: counter("errors_total"),
            memory: MemoryGauge::new(&format!("{base}vm_memory_bytes")),
        }));
        let _ = hostcalls::log(LogLevel::Info, "rust-header-rewrite: configured");
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let plugin = self.plugin.clone()?;
        Some(Box::new(Stream {
            plugin,
            matched: 0,
            snapshot: HashMap::new(),
            path: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Stream {
    plugin: Rc<Plugin>,
    matched: u64,
    /// Request values for the response phase.
    snapshot: HashMap<Part, String>,
    /// Per-phase cache of :path (outer None: not read yet).
    path: Option<Option<String>>,
}

fn header(map: MapType, name: &str) -> Option<String> {
    hostcalls::get_map_value(map, name).ok().flatten()
}

fn valid_value(v: &str) -> bool {
    v.len() <= 8192 && !v.bytes().any(|b| b == 0 || b == b'\r' || b == b'\n')
}

impl Stream {
    fn request_path(&mut self) -> Option<String> {
        if self.path.is_none() {
            self.path = Some(header(MapType::HttpRequestHeaders, ":path"));
        }
        self.path.clone().flatten().filter(|p| !p.is_empty())
    }

    fn resolve(&mut self, p: &Part, response: bool) -> Option<String> {
        if response && p.is_request_scoped() {
            return self.snapshot.get(p).cloned();
        }
        match p {
            Part::Literal(s) => Some(s.clone()),
            Part::Path => self.request_path(),
            Part::Method => header(MapType::HttpRequestHeaders, ":method"),
            Part::RequestHeader(h) => header(MapType::HttpRequestHeaders, h),
            Part::ResponseHeader(h) => header(MapType::HttpResponseHeaders, h),
            Part::SourceIp => source_ip(),
        }
    }

    fn render(&mut self, t: &Template, response: bool) -> String {
        if let [Part::Literal(s)] = t.as_slice() {
            return s.clone();
        }
        let mut out = String::new();
        for p in t {
            match p {
                Part::Literal(s) => out.push_str(s),
                _ => out.push_str(&self.resolve(p, response).unwrap_or_default()),
            }
        }
        out
    }

    fn matches(&mut self, m: &MatchConfig) -> bool {
        if !m.methods.is_empty() {
            let method = header(MapType::HttpRequestHeaders, ":method").unwrap_or_default();
            if !m.methods.contains(&method) {
                return false;
            }
        }
        if let Some(pm) = &m.path {
            let Some(full) = self.request_path() else {
                return false;
            };
            let p = full.split('?').next().unwrap_or("");
            if pm.prefix.as_deref().is_some_and(|x| !p.starts_with(x)) {
                return false;
            }
            if pm.exact.as_deref().is_some_and(|x| p != x) {
                return false;
            }
        }
        m.headers
            .iter()
            .all(|h| match header(MapType::HttpRequestHeaders, &h.name) {
                Some(v) => h.exact.as_ref().is_none_or(|x| *x == v),
                None => false,
            })
    }

    /// Renders every value first (all templates see the headers as they reached the filter),
    /// then applies the operations in order.
    fn phase(&mut self, response: bool) {
        let map = if response {
            MapType::HttpResponseHeaders
        } else {
            MapType::HttpRequestHeaders
        };
        let plugin = Rc::clone(&self.plugin);
        let mut plan: Vec<(&Op, String)> = Vec::new();
        let (mut applied, mut failures) = (0i64, 0i64);
        for (i, rule) in plugin.rules.iter().enumerate() {
            if self.matched & (1 << i) == 0 {
                continue;
            }
            let ops = if response {
                &rule.response
            } else {
                &rule.request
            };
            let mut contributed = false;
            for op in ops {
                let mut v = String::new();
                if let Some(t) = op.value() {
                    v = self.render(t, response);
                    if v.is_empty() {
                        continue;
                    }
                    if !valid_value(&v) {
                        failures += 1;
                        continue;
                    }
                }
                plan.push((op, v));
                contributed = true;
            }
            if contributed {
                applied += 1;
            }
        }
        for (op, v) in &plan {
            let ok = match &op.kind {
                OpKind::Remove => hostcalls::remove_map_value(map, &op.name).is_ok(),
                OpKind::Rename(target) => {
                    let moved: Vec<String> = hostcalls::get_map(map)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|(k, _)| *k == op.name)
                        .map(|(_, v)| v)
                        .collect();
                    if moved.is_empty() {
                        true
                    } else {
                        let mut ok = hostcalls::remove_map_value(map, &op.name).is_ok()
                            && hostcalls::remove_map_value(map, target).is_ok();
                        for m in &moved {
                            ok = ok && hostcalls::add_map_value(map, target, m).is_ok();
                        }
                        ok
                    }
                }
                OpKind::Set(_) => hostcalls::set_map_value(map, &op.name, Some(v)).is_ok(),
                OpKind::SetIfAbsent(_) => {
                    header(map, &op.name).is_some()
                        || hostcalls::add_map_value(map, &op.name, v).is_ok()
                }
                OpKind::Add(_) => hostcalls::add_map_value(map, &op.name, v).is_ok(),
            };
            if !ok {
                failures += 1;
            }
        }
        if applied > 0 {
            let _ = hostcalls::increment_metric(plugin.applied, applied);
        }
        if failures > 0 {
            let _ = hostcalls::increment_metric(plugin.errors, failures);
        }
    }
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let plugin = Rc::clone(&self.plugin);
        let _ = hostcalls::increment_metric(plugin.requests, 1);
        plugin.memory.tick();
        self.path = None;
        for (i, rule) in plugin.rules.iter().enumerate() {
            if rule.matcher.as_ref().is_none_or(|m| self.matches(m)) {
                self.matched |= 1 << i;
            }
        }
        if self.matched == 0 {
            return Action::Continue;
        }
        if plugin.has_response {
            for (i, rule) in plugin.rules.iter().enumerate() {
                if self.matched & (1 << i) == 0 {
                    continue;
                }
                for p in &rule.response_reads {
                    if let Some(v) = self.resolve(p, false) {
                        self.snapshot.insert(p.clone(), v);
                    }
                }
            }
        }
        self.phase(false);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if self.matched == 0 || !self.plugin.has_response {
            return Action::Continue;
        }
        self.phase(true);
        Action::Continue
    }
}
