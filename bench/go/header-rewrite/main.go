// header-rewrite in Go: the behaviour of filters/header-rewrite for the subset of its config that
// `npm run bench` uses (rules matched on path prefix/exact, methods and header exact/present;
// request and response remove, rename, set, set_if_absent and add, values with ${...}
// templates for request.path, request.method, request.header.<name>, source.ip). Same order of
// operations as ours (remove, rename, set, set_if_absent, add), same rules for the response
// phase (request values captured during the request phase), same metrics. A benchmark
// counterpart, not a product: unknown config fields are ignored rather than refused.
package main

import (
	"encoding/json"
	"sort"
	"strings"

	"portico.local/bench/go/proxywasm"
)

func main() {}

func init() {
	proxywasm.SetNewRoot(func(uint32) proxywasm.Root { return &root{} })
}

type headerMatch struct {
	Name    string  `json:"name"`
	Exact   *string `json:"exact"`
	Present bool    `json:"present"`
}

type matchConfig struct {
	Path *struct {
		Prefix *string `json:"prefix"`
		Exact  *string `json:"exact"`
	} `json:"path"`
	Methods []string      `json:"methods"`
	Headers []headerMatch `json:"headers"`
}

type actionsConfig struct {
	Remove      []string          `json:"remove"`
	Rename      map[string]string `json:"rename"`
	Set         map[string]string `json:"set"`
	SetIfAbsent map[string]string `json:"set_if_absent"`
	Add         map[string]string `json:"add"`
}

type ruleConfig struct {
	Name     string         `json:"name"`
	Match    *matchConfig   `json:"match"`
	Request  *actionsConfig `json:"request"`
	Response *actionsConfig `json:"response"`
}

type config struct {
	StatPrefix string       `json:"stat_prefix"`
	Rules      []ruleConfig `json:"rules"`
}

// A template is literal text and variables, parsed once at configure time.
type varKind int

const (
	varLiteral varKind = iota
	varPath
	varMethod
	varRequestHeader
	varResponseHeader
	varSourceIP
)

type part struct {
	kind varKind
	text string // literal text, or the header name
}

type template []part

func parseTemplate(s string) template {
	var t template
	for len(s) > 0 {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		if i > 0 {
			t = append(t, part{varLiteral, s[:i]})
		}
		name := s[i+2 : i+j]
		switch {
		case name == "request.path":
			t = append(t, part{kind: varPath})
		case name == "request.method":
			t = append(t, part{kind: varMethod})
		case name == "source.ip":
			t = append(t, part{kind: varSourceIP})
		case strings.HasPrefix(name, "request.header."):
			t = append(t, part{varRequestHeader, strings.TrimPrefix(name, "request.header.")})
		case strings.HasPrefix(name, "response.header."):
			t = append(t, part{varResponseHeader, strings.TrimPrefix(name, "response.header.")})
		}
		s = s[i+j+1:]
	}
	if len(s) > 0 {
		t = append(t, part{varLiteral, s})
	}
	return t
}

type opKind int

const (
	opRemove opKind = iota
	opRename
	opSet
	opSetIfAbsent
	opAdd
)

type op struct {
	kind   opKind
	name   string
	target string
	value  template
}

type rule struct {
	match    *matchConfig
	request  []op
	response []op
	// request-scoped variables the response ops read
	responseReads []part
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func compileOps(a *actionsConfig) []op {
	if a == nil {
		return nil
	}
	var ops []op
	for _, n := range a.Remove {
		ops = append(ops, op{kind: opRemove, name: strings.ToLower(n)})
	}
	for _, n := range sortedKeys(a.Rename) {
		ops = append(ops, op{kind: opRename, name: strings.ToLower(n), target: strings.ToLower(a.Rename[n])})
	}
	for _, group := range []struct {
		kind opKind
		m    map[string]string
	}{{opSet, a.Set}, {opSetIfAbsent, a.SetIfAbsent}, {opAdd, a.Add}} {
		for _, n := range sortedKeys(group.m) {
			ops = append(ops, op{kind: group.kind, name: strings.ToLower(n), value: parseTemplate(group.m[n])})
		}
	}
	return ops
}

type root struct {
	rules      []rule
	hasResp    bool
	requests   proxywasm.Metric
	applied    proxywasm.Metric
	errors     proxywasm.Metric
	memory     *proxywasm.MemoryGauge
	sourceAddr []byte
}

func (r *root) Configure(raw []byte) bool {
	var cfg config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		proxywasm.Log(proxywasm.LogError, "go-header-rewrite: invalid configuration: "+err.Error())
		return false
	}
	for _, rc := range cfg.Rules {
		ru := rule{match: rc.Match, request: compileOps(rc.Request), response: compileOps(rc.Response)}
		for _, o := range ru.response {
			for _, p := range o.value {
				if p.kind == varPath || p.kind == varMethod || p.kind == varRequestHeader {
					ru.responseReads = append(ru.responseReads, p)
				}
			}
		}
		if len(ru.response) > 0 {
			r.hasResp = true
		}
		r.rules = append(r.rules, ru)
	}
	base := "go.header_rewrite."
	if cfg.StatPrefix != "" {
		base += cfg.StatPrefix + "."
	}
	r.requests = proxywasm.Counter(base + "requests_total")
	r.applied = proxywasm.Counter(base + "rules_applied_total")
	r.errors = proxywasm.Counter(base + "errors_total")
	r.memory = proxywasm.NewMemoryGauge(base + "vm_memory_bytes")
	r.sourceAddr = proxywasm.PropertyPath("source.address")
	proxywasm.Log(proxywasm.LogInfo, "go-header-rewrite: configured")
	return true
}

func (r *root) OnTick() {}

func (r *root) NewStream(uint32) proxywasm.Stream { return &stream{root: r} }

type stream struct {
	root    *root
	matched uint64
	// request values for the response phase: key is the part (kind + header name)
	snapshot map[part]string
	// per-phase cache of :path
	path       string
	pathLoaded bool
}

func (s *stream) requestPath() (string, bool) {
	if !s.pathLoaded {
		s.path, _ = proxywasm.Header(proxywasm.RequestHeaders, ":path")
		s.pathLoaded = true
	}
	return s.path, s.path != ""
}

func (s *stream) resolve(p part, response bool) (string, bool) {
	if response && (p.kind == varPath || p.kind == varMethod || p.kind == varRequestHeader) {
		v, ok := s.snapshot[p]
		return v, ok
	}
	switch p.kind {
	case varPath:
		return s.requestPath()
	case varMethod:
		return proxywasm.Header(proxywasm.RequestHeaders, ":method")
	case varRequestHeader:
		return proxywasm.Header(proxywasm.RequestHeaders, p.text)
	case varResponseHeader:
		return proxywasm.Header(proxywasm.ResponseHeaders, p.text)
	case varSourceIP:
		a, ok := proxywasm.Property(s.root.sourceAddr)
		return proxywasm.AddressIP(a), ok
	}
	return p.text, true
}

func (s *stream) render(t template, response bool) string {
	if len(t) == 1 && t[0].kind == varLiteral {
		return t[0].text
	}
	var b strings.Builder
	for _, p := range t {
		if p.kind == varLiteral {
			b.WriteString(p.text)
			continue
		}
		v, _ := s.resolve(p, response)
		b.WriteString(v)
	}
	return b.String()
}

func validValue(v string) bool {
	return len(v) <= 8192 && strings.IndexAny(v, "\x00\r\n") < 0
}

func (s *stream) matches(m *matchConfig) bool {
	if m == nil {
		return true
	}
	if len(m.Methods) > 0 {
		method, _ := proxywasm.Header(proxywasm.RequestHeaders, ":method")
		found := false
		for _, x := range m.Methods {
			if x == method {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if m.Path != nil {
		p, ok := s.requestPath()
		if !ok {
			return false
		}
		if q := strings.IndexByte(p, '?'); q >= 0 {
			p = p[:q]
		}
		if m.Path.Prefix != nil && !strings.HasPrefix(p, *m.Path.Prefix) {
			return false
		}
		if m.Path.Exact != nil && p != *m.Path.Exact {
			return false
		}
	}
	for _, h := range m.Headers {
		v, ok := proxywasm.Header(proxywasm.RequestHeaders, h.Name)
		if !ok || (h.Exact != nil && v != *h.Exact) {
			return false
		}
	}
	return true
}

type planned struct {
	op    *op
	value string
}

// phase renders every value first (all templates see the headers as they reached the filter),
// then applies the operations in order.
func (s *stream) phase(response bool) {
	m := proxywasm.RequestHeaders
	if response {
		m = proxywasm.ResponseHeaders
	}
	var plan []planned
	applied, failures := 0, 0
	for i := range s.root.rules {
		if s.matched&(1<<uint(i)) == 0 {
			continue
		}
		ops := s.root.rules[i].request
		if response {
			ops = s.root.rules[i].response
		}
		contributed := false
		for k := range ops {
			o := &ops[k]
			v := ""
			if o.value != nil {
				v = s.render(o.value, response)
				if v == "" {
					continue
				}
				if !validValue(v) {
					failures++
					continue
				}
			}
			plan = append(plan, planned{o, v})
			contributed = true
		}
		if contributed {
			applied++
		}
	}
	for _, p := range plan {
		ok := true
		switch p.op.kind {
		case opRemove:
			ok = proxywasm.RemoveHeader(m, p.op.name)
		case opRename:
			var moved []string
			for _, h := range proxywasm.Headers(m) {
				if h[0] == p.op.name {
					moved = append(moved, h[1])
				}
			}
			if len(moved) == 0 {
				break
			}
			ok = proxywasm.RemoveHeader(m, p.op.name) && proxywasm.RemoveHeader(m, p.op.target)
			for _, v := range moved {
				ok = ok && proxywasm.AddHeader(m, p.op.target, v)
			}
		case opSet:
			ok = proxywasm.SetHeader(m, p.op.name, p.value)
		case opSetIfAbsent:
			if _, present := proxywasm.Header(m, p.op.name); !present {
				ok = proxywasm.AddHeader(m, p.op.name, p.value)
			}
		case opAdd:
			ok = proxywasm.AddHeader(m, p.op.name, p.value)
		}
		if !ok {
			failures++
		}
	}
	if applied > 0 {
		s.root.applied.Increment(int64(applied))
	}
	if failures > 0 {
		s.root.errors.Increment(int64(failures))
	}
}

func (s *stream) OnRequestHeaders(int, bool) proxywasm.Action {
	r := s.root
	r.requests.Increment(1)
	r.memory.Tick()
	s.pathLoaded = false
	for i := range r.rules {
		if s.matches(r.rules[i].match) {
			s.matched |= 1 << uint(i)
		}
	}
	if s.matched == 0 {
		return proxywasm.Continue
	}
	if r.hasResp {
		for i := range r.rules {
			if s.matched&(1<<uint(i)) == 0 {
				continue
			}
			for _, p := range r.rules[i].responseReads {
				if v, ok := s.resolve(p, false); ok {
					if s.snapshot == nil {
						s.snapshot = map[part]string{}
					}
					s.snapshot[p] = v
				}
			}
		}
	}
	s.phase(false)
	return proxywasm.Continue
}

func (s *stream) OnResponseHeaders(int, bool) proxywasm.Action {
	if s.matched == 0 || !s.root.hasResp {
		return proxywasm.Continue
	}
	s.phase(true)
	return proxywasm.Continue
}
