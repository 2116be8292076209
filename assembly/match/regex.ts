// A linear-time regular-expression engine for an RE2 subset, with full-match semantics (the
// whole text must match, as Envoy's `safe_regex` does for route and header matching).
//
// Why our own: no maintained regex library exists for AssemblyScript 0.28, and a backtracking
// engine would let one crafted header value (`(a*)*b` against "aaaa…") stall a worker. This one
// parses a pattern once, at configure time, into a small program, and runs it at request time
// as a Pike VM / Thompson NFA simulation: every live thread advances one character at a time
// together, each program counter at most once per position, so matching is O(program × text)
// whatever the pattern, with no backtracking and no allocation per match (the thread lists are
// allocated with the program).
//
// Syntax (RE2's, see https://github.com/google/re2/wiki/Syntax):
//   literals, `\` + any ASCII punctuation, `\t \n \r \f \v \a`, `\xHH`, `\x{H…}`, `\Q…\E`;
//   `.` (any character but `\n`; any character under the `s` flag); classes `[abc] [^a-z]
//   [\d_] [[:alpha:]]` (a `]` first in a class is literal); `\d \D \w \W \s \S` (ASCII, as in
//   RE2: \s is [\t\n\f\r ]); anchors `^ $ \A \z` and word boundaries `\b \B` (ASCII word
//   characters); groups `( )`, `(?: )`, `(?P<name> )`, `(?<name> )`; alternation `|`;
//   quantifiers `* + ? {n} {n,} {n,m}` and their lazy forms (`*?` …: the same match/no-match
//   answer, so they compile alike); flags `(?i) (?s) (?m) (?U)`, `(?-i)`, `(?i:…)`, anywhere.
// Refused with a message naming the construct: backreferences and octal escapes (`\1`,
// `\k<n>`, `(?P=n)`), lookahead and lookbehind, atomic groups, possessive quantifiers,
// Unicode classes (`\p{…}`), `\C`, `\Z`, comments `(?#…)`, and anything RE2 itself rejects
// (a quantifier without operand, `a**`, an unterminated class or group, a bad range).
//
// Limits: pattern ≤ 1024 UTF-16 units; repetition counts ≤ 1000 (as RE2); the compiled
// program ≤ 2000 instructions after repetitions are expanded (`\d{1,1000}` fits; `(ab){1,1000}`
// and large nested counts do not); group nesting ≤ 200. Matching costs at most
// O(program × text) steps: ~2000 × 8 KiB for the worst header value.
//
// Characters: the engine steps through the text by Unicode code point: a UTF-16 surrogate pair
// is one character (so `.` matches one character of a non-ASCII path or header, as RE2 in UTF-8
// mode does: Envoy hands us UTF-8, the runtime decodes it to a UTF-16 string); a lone surrogate
// is one character. Case folding under `(?i)` covers ASCII and Latin-1 letters (À-Þ ↔ à-þ),
// not the rest of Unicode (RE2 folds all scripts).

const MAX_PATTERN: i32 = 1024;
const MAX_REPEAT: i32 = 1000;
const MAX_PROGRAM: i32 = 2000;
const MAX_DEPTH: i32 = 200;
const MAX_CP: i32 = 0x10ffff;

// Instructions.
const OP_CHAR: i32 = 0; // a = code point
const OP_CLASS: i32 = 1; // a = first range index (pairs in `ranges`), b = number of pairs
const OP_ANY: i32 = 2;
const OP_ANY_NOT_NL: i32 = 3;
const OP_SPLIT: i32 = 4; // a, b = targets
const OP_JMP: i32 = 5; // a = target
const OP_ASSERT: i32 = 6; // a = assertion kind
const OP_MATCH: i32 = 7;

// Assertions.
const AS_BEGIN_TEXT: i32 = 0;
const AS_END_TEXT: i32 = 1;
const AS_BEGIN_LINE: i32 = 2;
const AS_END_LINE: i32 = 3;
const AS_WORD_BOUNDARY: i32 = 4;
const AS_NOT_WORD_BOUNDARY: i32 = 5;

// Syntax-tree node kinds.
const N_EMPTY: i32 = 0;
const N_CLASS: i32 = 1; // literals too (a one-character class)
const N_ANY: i32 = 2;
const N_ANY_NOT_NL: i32 = 3;
const N_CONCAT: i32 = 4;
const N_ALT: i32 = 5;
const N_REPEAT: i32 = 6;
const N_ASSERT: i32 = 7;

class Node {
  subs: Node[] = [];
  ranges: i32[] = []; // N_CLASS: sorted, merged [lo, hi] pairs
  min: i32 = 0; // N_REPEAT
  max: i32 = 0; // N_REPEAT; -1: unbounded
  arg: i32 = 0; // N_ASSERT kind
  constructor(public kind: i32) {}
}

/** A compiled pattern; `matches` is safe to call per request (no allocation). */
export class Regex {
  private cur: SparseSet;
  private nxt: SparseSet;
  private stack: StaticArray<i32>;

  constructor(
    public readonly pattern: string,
    private op: StaticArray<i32>,
    private a: StaticArray<i32>,
    private b: StaticArray<i32>,
    private ranges: StaticArray<i32>,
  ) {
    const n = op.length;
    this.cur = new SparseSet(n);
    this.nxt = new SparseSet(n);
    this.stack = new StaticArray<i32>(2 * n + 2);
  }

  /** Program size, for tests and limits. */
  get size(): i32 { return this.op.length; }

  /** Whether the whole of `text` matches the pattern. */
  matches(text: string): bool {
    const n = text.length;
    let cur = this.cur;
    let nxt = this.nxt;
    cur.clear();
    this.addThread(cur, 0, text, 0);
    let i = 0;
    while (true) {
      const count = cur.size;
      if (count == 0) return false;
      if (i >= n) {
        for (let k = 0; k < count; k++) {
          if (unchecked(this.op[cur.at(k)]) == OP_MATCH) return true;
        }
        return false;
      }
      let c = <i32>text.charCodeAt(i);
      let w = 1;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const lo = <i32>text.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          w = 2;
        }
      }
      nxt.clear();
      const at = i + w;
      for (let k = 0; k < count; k++) {
        const pc = cur.at(k);
        let ok = false;
        switch (unchecked(this.op[pc])) {
          case OP_CHAR: ok = c == unchecked(this.a[pc]); break;
          case OP_CLASS: ok = this.inClass(c, unchecked(this.a[pc]), unchecked(this.b[pc])); break;
          case OP_ANY: ok = true; break;
          case OP_ANY_NOT_NL: ok = c != 0x0a; break;
          default: break; // MATCH before the end, or an empty-width instruction already followed
        }
        if (ok) this.addThread(nxt, pc + 1, text, at);
      }
      const t = cur;
      cur = nxt;
      nxt = t;
      i = at;
    }
  }

  private inClass(c: i32, first: i32, count: i32): bool {
    let lo = 0;
    let hi = count - 1;
    const r = this.ranges;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const p = first + 2 * mid;
      if (c < unchecked(r[p])) hi = mid - 1;
      else if (c > unchecked(r[p + 1])) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Adds pc and everything reachable from it without consuming a character. */
  private addThread(set: SparseSet, start: i32, text: string, pos: i32): void {
    const stack = this.stack;
    let sp = 0;
    unchecked(stack[sp++] = start);
    while (sp > 0) {
      const pc = unchecked(stack[--sp]);
      if (set.has(pc)) continue;
      set.add(pc);
      switch (unchecked(this.op[pc])) {
        case OP_JMP: unchecked(stack[sp++] = this.a[pc]); break;
        case OP_SPLIT:
          unchecked(stack[sp++] = this.b[pc]);
          unchecked(stack[sp++] = this.a[pc]);
          break;
        case OP_ASSERT:
          if (assertionHolds(unchecked(this.a[pc]), text, pos)) unchecked(stack[sp++] = pc + 1);
          break;
        default: break;
      }
    }
  }
}

function isWordUnit(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
}

function assertionHolds(kind: i32, text: string, pos: i32): bool {
  const n = text.length;
  switch (kind) {
    case AS_BEGIN_TEXT: return pos == 0;
    case AS_END_TEXT: return pos == n;
    case AS_BEGIN_LINE: return pos == 0 || text.charCodeAt(pos - 1) == 0x0a;
    case AS_END_LINE: return pos == n || text.charCodeAt(pos) == 0x0a;
    default: {
      const before = pos > 0 && isWordUnit(text.charCodeAt(pos - 1));
      const after = pos < n && isWordUnit(text.charCodeAt(pos));
      return (before != after) == (kind == AS_WORD_BOUNDARY);
    }
  }
}

class SparseSet {
  private dense: StaticArray<i32>;
  private sparse: StaticArray<i32>;
  size: i32 = 0;

  constructor(n: i32) {
    this.dense = new StaticArray<i32>(n);
    this.sparse = new StaticArray<i32>(n);
  }

  @inline clear(): void { this.size = 0; }

  @inline at(k: i32): i32 { return unchecked(this.dense[k]); }

  @inline has(v: i32): bool {
    const s = unchecked(this.sparse[v]);
    return s < this.size && unchecked(this.dense[s]) == v;
  }

  @inline add(v: i32): void {
    unchecked(this.sparse[v] = this.size);
    unchecked(this.dense[this.size] = v);
    this.size++;
  }
}

/** The result of compiling: a regex, or an error message (with the offset in the pattern). */
export class RegexCompile {
  constructor(public readonly regex: Regex | null, public readonly error: string) {}
  get ok(): bool { return this.regex !== null; }
}

/** Compiles `pattern` (RE2 syntax, full match). */
export function compileRegex(pattern: string): RegexCompile {
  if (pattern.length > MAX_PATTERN) {
    return new RegexCompile(null, "regex is longer than " + MAX_PATTERN.toString() + " characters");
  }
  const p = new Parser(pattern);
  const tree = p.parse();
  if (p.error.length) return new RegexCompile(null, p.error + " (at offset " + p.errorAt.toString() + ")");
  const c = new Compiler();
  c.emitNode(tree);
  c.emit(OP_MATCH, 0, 0);
  if (c.overflow) {
    return new RegexCompile(null, "regex is too large: more than " + MAX_PROGRAM.toString() +
      " instructions once repetitions are expanded (lower the repetition counts)");
  }
  return new RegexCompile(c.build(pattern), "");
}

/** Test convenience: compile and match; a pattern that does not compile matches nothing. */
export function regexMatches(pattern: string, text: string): bool {
  const r = compileRegex(pattern).regex;
  return r !== null && r.matches(text);
}

// ---------------------------------------------------------------------------------------------
// Compiler: syntax tree -> program.

class Compiler {
  op: i32[] = [];
  a: i32[] = [];
  b: i32[] = [];
  ranges: i32[] = [];
  overflow: bool = false;

  get pc(): i32 { return this.op.length; }

  emit(op: i32, a: i32, b: i32): i32 {
    if (this.op.length >= MAX_PROGRAM) {
      this.overflow = true;
      return this.op.length - 1;
    }
    this.op.push(op);
    this.a.push(a);
    this.b.push(b);
    return this.op.length - 1;
  }

  patchA(pc: i32, target: i32): void { if (!this.overflow) this.a[pc] = target; }
  patchB(pc: i32, target: i32): void { if (!this.overflow) this.b[pc] = target; }

  emitNode(n: Node): void {
    if (this.overflow) return;
    switch (n.kind) {
      case N_EMPTY: return;
      case N_CLASS: {
        const r = n.ranges;
        if (r.length == 2 && r[0] == r[1]) {
          this.emit(OP_CHAR, r[0], 0);
        } else {
          const first = this.ranges.length;
          for (let i = 0; i < r.length; i++) this.ranges.push(r[i]);
          this.emit(OP_CLASS, first, r.length / 2);
        }
        return;
      }
      case N_ANY: this.emit(OP_ANY, 0, 0); return;
      case N_ANY_NOT_NL: this.emit(OP_ANY_NOT_NL, 0, 0); return;
      case N_ASSERT: this.emit(OP_ASSERT, n.arg, 0); return;
      case N_CONCAT: {
        for (let i = 0; i < n.subs.length; i++) this.emitNode(n.subs[i]);
        return;
      }
      case N_ALT: {
        const jumps = new Array<i32>();
        const last = n.subs.length - 1;
        for (let i = 0; i < last; i++) {
          const split = this.emit(OP_SPLIT, 0, 0);
          this.patchA(split, this.pc);
          this.emitNode(n.subs[i]);
          jumps.push(this.emit(OP_JMP, 0, 0));
          this.patchB(split, this.pc);
        }
        this.emitNode(n.subs[last]);
        for (let i = 0; i < jumps.length; i++) this.patchA(jumps[i], this.pc);
        return;
      }
      default: this.emitRepeat(n); return;
    }
  }

  private emitRepeat(n: Node): void {
    const sub = n.subs[0];
    if (n.max == -1) {
      if (n.min == 0) {
        // L: split L+1, END; sub; jmp L; END:
        const split = this.emit(OP_SPLIT, 0, 0);
        this.patchA(split, this.pc);
        this.emitNode(sub);
        this.emit(OP_JMP, split, 0);
        this.patchB(split, this.pc);
      } else {
        for (let i = 0; i < n.min - 1; i++) this.emitNode(sub);
        // L: sub; split L, END
        const start = this.pc;
        this.emitNode(sub);
        const split = this.emit(OP_SPLIT, start, 0);
        this.patchB(split, this.pc);
      }
      return;
    }
    for (let i = 0; i < n.min; i++) this.emitNode(sub);
    const exits = new Array<i32>();
    for (let i = n.min; i < n.max; i++) {
      const split = this.emit(OP_SPLIT, 0, 0);
      this.patchA(split, this.pc);
      exits.push(split);
      this.emitNode(sub);
      if (this.overflow) return;
    }
    for (let i = 0; i < exits.length; i++) this.patchB(exits[i], this.pc);
  }

  build(pattern: string): Regex {
    const n = this.op.length;
    const op = new StaticArray<i32>(n);
    const a = new StaticArray<i32>(n);
    const b = new StaticArray<i32>(n);
    for (let i = 0; i < n; i++) {
      op[i] = this.op[i];
      a[i] = this.a[i];
      b[i] = this.b[i];
    }
    const r = new StaticArray<i32>(this.ranges.length);
    for (let i = 0; i < this.ranges.length; i++) r[i] = this.ranges[i];
    return new Regex(pattern, op, a, b, r);
  }
}

// ---------------------------------------------------------------------------------------------
// Parser: pattern -> syntax tree.

function isDigit(c: i32): bool { return c >= 0x30 && c <= 0x39; }

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Sorts and merges [lo, hi] pairs. */
function normalize(r: i32[]): i32[] {
  const n = r.length / 2;
  // Insertion sort on pairs: classes are small.
  for (let i = 1; i < n; i++) {
    const lo = r[2 * i];
    const hi = r[2 * i + 1];
    let j = i - 1;
    while (j >= 0 && r[2 * j] > lo) {
      r[2 * j + 2] = r[2 * j];
      r[2 * j + 3] = r[2 * j + 1];
      j--;
    }
    r[2 * j + 2] = lo;
    r[2 * j + 3] = hi;
  }
  const out = new Array<i32>();
  for (let i = 0; i < n; i++) {
    const lo = r[2 * i];
    const hi = r[2 * i + 1];
    const m = out.length;
    if (m > 0 && lo <= out[m - 1] + 1) {
      if (hi > out[m - 1]) out[m - 1] = hi;
    } else {
      out.push(lo);
      out.push(hi);
    }
  }
  return out;
}

/** The complement of normalized ranges within [0, 0x10FFFF]. */
function negate(r: i32[]): i32[] {
  const out = new Array<i32>();
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i] > next) {
      out.push(next);
      out.push(r[i] - 1);
    }
    next = r[i + 1] + 1;
  }
  if (next <= MAX_CP) {
    out.push(next);
    out.push(MAX_CP);
  }
  return out;
}

function addRange(r: i32[], lo: i32, hi: i32): void {
  r.push(lo);
  r.push(hi);
}

/** Adds the other case of the letters in [lo, hi] (ASCII and Latin-1). */
function addFolded(r: i32[], lo: i32, hi: i32): void {
  foldSpan(r, lo, hi, 0x41, 0x5a, 0x20);
  foldSpan(r, lo, hi, 0x61, 0x7a, -0x20);
  foldSpan(r, lo, hi, 0xc0, 0xd6, 0x20);
  foldSpan(r, lo, hi, 0xd8, 0xde, 0x20);
  foldSpan(r, lo, hi, 0xe0, 0xf6, -0x20);
  foldSpan(r, lo, hi, 0xf8, 0xfe, -0x20);
}

function foldSpan(r: i32[], lo: i32, hi: i32, from: i32, to: i32, delta: i32): void {
  const a = max(lo, from);
  const b = min(hi, to);
  if (a <= b) addRange(r, a + delta, b + delta);
}

const DIGIT: i32[] = [0x30, 0x39];
const WORD: i32[] = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE: i32[] = [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20];

/** POSIX classes ([:name:]) in ASCII, as RE2 defines them. */
function posixClass(name: string): i32[] | null {
  if (name == "alnum") return [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a];
  if (name == "alpha") return [0x41, 0x5a, 0x61, 0x7a];
  if (name == "ascii") return [0x00, 0x7f];
  if (name == "blank") return [0x09, 0x09, 0x20, 0x20];
  if (name == "cntrl") return [0x00, 0x1f, 0x7f, 0x7f];
  if (name == "digit") return [0x30, 0x39];
  if (name == "graph") return [0x21, 0x7e];
  if (name == "lower") return [0x61, 0x7a];
  if (name == "print") return [0x20, 0x7e];
  if (name == "punct") return [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e];
  if (name == "space") return [0x09, 0x0d, 0x20, 0x20];
  if (name == "upper") return [0x41, 0x5a];
  if (name == "word") return [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
  if (name == "xdigit") return [0x30, 0x39, 0x41, 0x46, 0x61, 0x66];
  return null;
}

class Parser {
  pos: i32 = 0;
  error: string = "";
  errorAt: i32 = 0;
  depth: i32 = 0;
  // Flags, restored when the group that changed them closes.
  fold: bool = false;
  dotAll: bool = false;
  multiLine: bool = false;

  constructor(private s: string) {}

  fail(message: string, at: i32): Node {
    if (this.error.length == 0) {
      this.error = message;
      this.errorAt = at;
    }
    this.pos = this.s.length; // stop parsing
    return new Node(N_EMPTY);
  }

  get failed(): bool { return this.error.length > 0; }

  @inline peek(): i32 { return this.pos < this.s.length ? <i32>this.s.charCodeAt(this.pos) : -1; }

  @inline peekAt(k: i32): i32 {
    const i = this.pos + k;
    return i < this.s.length ? <i32>this.s.charCodeAt(i) : -1;
  }

  /** The code point at pos (a surrogate pair is one), advancing past it. */
  nextCp(): i32 {
    const c = <i32>this.s.charCodeAt(this.pos++);
    if (c >= 0xd800 && c <= 0xdbff && this.pos < this.s.length) {
      const lo = <i32>this.s.charCodeAt(this.pos);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        this.pos++;
        return 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
      }
    }
    return c;
  }

  parse(): Node {
    const n = this.parseAlt();
    if (!this.failed && this.pos < this.s.length) {
      // parseAlt stops only at ')' or the end.
      return this.fail("unexpected ): no group to close", this.pos);
    }
    return n;
  }

  parseAlt(): Node {
    const first = this.parseConcat();
    if (this.peek() != 0x7c) return first; // '|'
    const alt = new Node(N_ALT);
    alt.subs.push(first);
    while (!this.failed && this.peek() == 0x7c) {
      this.pos++;
      alt.subs.push(this.parseConcat());
    }
    return alt;
  }

  parseConcat(): Node {
    const cat = new Node(N_CONCAT);
    while (!this.failed && this.pos < this.s.length) {
      const c = this.peek();
      if (c == 0x7c || c == 0x29) break; // '|' ')'
      const atomAt = this.pos;
      const atom = this.parseAtom();
      if (atom === null) continue; // a flag group such as (?i): nothing to match
      cat.subs.push(this.parseQuantifiers(atom, atomAt));
    }
    return cat.subs.length == 1 ? cat.subs[0] : cat;
  }

  /** Reads `{n}`, `{n,}` or `{n,m}` at pos; returns [min, max] (max -1: open) or null if it is not one. */
  readRepeat(): i32[] | null {
    const s = this.s;
    let i = this.pos + 1;
    const start = i;
    let lo = 0;
    while (i < s.length && isDigit(s.charCodeAt(i))) {
      if (lo <= MAX_REPEAT) lo = lo * 10 + (s.charCodeAt(i) - 0x30);
      i++;
    }
    if (i == start || i >= s.length) return null;
    let hi = lo;
    if (s.charCodeAt(i) == 0x2c) { // ','
      i++;
      const hs = i;
      hi = 0;
      while (i < s.length && isDigit(s.charCodeAt(i))) {
        if (hi <= MAX_REPEAT) hi = hi * 10 + (s.charCodeAt(i) - 0x30);
        i++;
      }
      if (i == hs) hi = -1;
    }
    if (i >= s.length || s.charCodeAt(i) != 0x7d) return null; // '}'
    return [lo, hi, i + 1];
  }

  parseQuantifiers(atom: Node, atomAt: i32): Node {
    let node = atom;
    let quantified = false;
    while (!this.failed) {
      const c = this.peek();
      let lo = 0;
      let hi = 0;
      const opAt = this.pos;
      if (c == 0x2a) { lo = 0; hi = -1; this.pos++; }
      else if (c == 0x2b) { lo = 1; hi = -1; this.pos++; }
      else if (c == 0x3f) { lo = 0; hi = 1; this.pos++; }
      else if (c == 0x7b) {
        const r = this.readRepeat();
        if (r === null) break; // a literal '{'
        lo = r[0];
        hi = r[1];
        this.pos = r[2];
        if (lo > MAX_REPEAT || hi > MAX_REPEAT) {
          return this.fail("repetition count above " + MAX_REPEAT.toString() + " in " + this.s.substring(opAt, this.pos), opAt);
        }
        if (hi >= 0 && hi < lo) {
          return this.fail("invalid repetition " + this.s.substring(opAt, this.pos) + " (max below min)", opAt);
        }
      } else {
        break;
      }
      if (quantified) {
        return this.fail("bad repetition operator " + this.s.substring(atomAt, this.pos) + " (a quantifier cannot follow a quantifier)", opAt);
      }
      // The lazy form gives the same match/no-match answer.
      if (this.peek() == 0x3f) this.pos++;
      if (this.peek() == 0x2b) {
        return this.fail("possessive quantifiers (" + this.s.substring(opAt, this.pos + 1) + ") are not supported", this.pos);
      }
      quantified = true;
      const rep = new Node(N_REPEAT);
      rep.subs.push(node);
      rep.min = lo;
      rep.max = hi;
      node = rep;
    }
    return node;
  }

  classNode(ranges: i32[]): Node {
    const n = new Node(N_CLASS);
    n.ranges = normalize(ranges);
    return n;
  }

  literal(cp: i32): Node {
    const r = new Array<i32>();
    addRange(r, cp, cp);
    if (this.fold) addFolded(r, cp, cp);
    return this.classNode(r);
  }

  assertion(kind: i32): Node {
    const n = new Node(N_ASSERT);
    n.arg = kind;
    return n;
  }

  /** One atom; null for a flag-only group `(?i)`. */
  parseAtom(): Node | null {
    const at = this.pos;
    const c = this.peek();
    switch (c) {
      case 0x28: return this.parseGroup(); // '('
      case 0x5b: return this.parseClass(); // '['
      case 0x2e: // '.'
        this.pos++;
        return new Node(this.dotAll ? N_ANY : N_ANY_NOT_NL);
      case 0x5e: // '^'
        this.pos++;
        return this.assertion(this.multiLine ? AS_BEGIN_LINE : AS_BEGIN_TEXT);
      case 0x24: // '$'
        this.pos++;
        return this.assertion(this.multiLine ? AS_END_LINE : AS_END_TEXT);
      case 0x2a: case 0x2b: case 0x3f: // '*' '+' '?'
        return this.fail("missing argument to repetition operator " + String.fromCharCode(c), at);
      case 0x7b: { // '{'
        if (this.readRepeat() !== null) return this.fail("missing argument to repetition operator {", at);
        this.pos++;
        return this.literal(c);
      }
      case 0x5c: return this.parseEscape(); // '\\'
      default: return this.literal(this.nextCp());
    }
  }

  parseGroup(): Node | null {
    const at = this.pos;
    this.pos++; // '('
    if (this.peek() == 0x3f) { // '?'
      this.pos++;
      const c = this.peek();
      if (c == 0x3a) { // (?:
        this.pos++;
        return this.groupBody(at);
      }
      if (c == 0x50 && this.peekAt(1) == 0x3d) return this.fail("backreferences ((?P=name)) are not supported", at);
      if (c == 0x3d || c == 0x21) return this.fail("lookahead ((?" + String.fromCharCode(c) + "...)) is not supported", at);
      if (c == 0x3c && (this.peekAt(1) == 0x3d || this.peekAt(1) == 0x21)) {
        return this.fail("lookbehind ((?<" + String.fromCharCode(this.peekAt(1)) + "...)) is not supported", at);
      }
      if (c == 0x3e) return this.fail("atomic groups ((?>...)) are not supported", at);
      if (c == 0x23) return this.fail("comments ((?#...)) are not supported", at);
      if (c == 0x50 || c == 0x3c) { // (?P<name> or (?<name>
        if (c == 0x50) {
          this.pos++;
          if (this.peek() != 0x3c) return this.fail("invalid named group: expected (?P<name>", at);
        }
        this.pos++;
        const nameAt = this.pos;
        while (this.pos < this.s.length && this.s.charCodeAt(this.pos) != 0x3e) {
          const k = this.s.charCodeAt(this.pos);
          if (!(isWordUnit(k))) return this.fail("invalid character in group name", this.pos);
          this.pos++;
        }
        if (this.pos >= this.s.length) return this.fail("unterminated group name", at);
        if (this.pos == nameAt) return this.fail("empty group name", at);
        this.pos++; // '>'
        return this.groupBody(at);
      }
      return this.parseFlags(at);
    }
    return this.groupBody(at);
  }

  /** `(?flags)` or `(?flags:...)`, after "(?". */
  parseFlags(at: i32): Node | null {
    let negated = false;
    let any = false;
    let fold = this.fold;
    let dotAll = this.dotAll;
    let multiLine = this.multiLine;
    while (this.pos < this.s.length) {
      const c = this.peek();
      this.pos++;
      if (c == 0x69) { fold = !negated; any = true; }
      else if (c == 0x73) { dotAll = !negated; any = true; }
      else if (c == 0x6d) { multiLine = !negated; any = true; }
      else if (c == 0x55) { any = true; } // ungreedy: no effect on match/no-match
      else if (c == 0x2d) {
        if (negated) return this.fail("invalid flags: two '-'", this.pos - 1);
        negated = true;
        any = false;
      } else if (c == 0x29 || c == 0x3a) { // ')' or ':'
        if (!any) return this.fail("invalid or empty flag group", at);
        if (c == 0x29) {
          // (?i): applies to the rest of the enclosing group.
          this.fold = fold;
          this.dotAll = dotAll;
          this.multiLine = multiLine;
          return null;
        }
        const sf = this.fold;
        const sd = this.dotAll;
        const sm = this.multiLine;
        this.fold = fold;
        this.dotAll = dotAll;
        this.multiLine = multiLine;
        const body = this.groupBody(at);
        this.fold = sf;
        this.dotAll = sd;
        this.multiLine = sm;
        return body;
      } else {
        return this.fail("unknown group or flag (?" + this.s.substring(at + 2, this.pos) + " (flags are i, m, s, U)", at);
      }
    }
    return this.fail("missing ) after (?", at);
  }

  /** The body of a group up to its ')', flags restored afterwards. */
  groupBody(at: i32): Node {
    if (++this.depth > MAX_DEPTH) return this.fail("groups nested deeper than " + MAX_DEPTH.toString(), at);
    const sf = this.fold;
    const sd = this.dotAll;
    const sm = this.multiLine;
    const body = this.parseAlt();
    this.fold = sf;
    this.dotAll = sd;
    this.multiLine = sm;
    this.depth--;
    if (this.failed) return body;
    if (this.peek() != 0x29) return this.fail("missing ): unterminated group", at);
    this.pos++;
    return body;
  }

  /** A `\` escape outside a class. */
  parseEscape(): Node {
    const at = this.pos;
    this.pos++; // '\\'
    if (this.pos >= this.s.length) return this.fail("trailing backslash at end of regex", at);
    const c = this.peek();
    switch (c) {
      case 0x62: this.pos++; return this.assertion(AS_WORD_BOUNDARY); // \b
      case 0x42: this.pos++; return this.assertion(AS_NOT_WORD_BOUNDARY); // \B
      case 0x41: this.pos++; return this.assertion(AS_BEGIN_TEXT); // \A
      case 0x7a: this.pos++; return this.assertion(AS_END_TEXT); // \z
      case 0x5a: return this.fail("\\Z is not supported (use \\z or $)", at);
      case 0x43: return this.fail("\\C (any byte) is not supported", at);
      case 0x51: { // \Q...\E
        this.pos++;
        const cat = new Node(N_CONCAT);
        while (this.pos < this.s.length) {
          if (this.peek() == 0x5c && this.peekAt(1) == 0x45) {
            this.pos += 2;
            break;
          }
          cat.subs.push(this.literal(this.nextCp()));
        }
        return cat;
      }
      default: break;
    }
    const ranges = new Array<i32>();
    const single = this.escapeInto(ranges, at, false);
    if (this.failed) return new Node(N_EMPTY);
    if (single >= 0) return this.literal(single);
    if (this.fold) {
      const n = ranges.length;
      for (let i = 0; i < n; i += 2) addFolded(ranges, ranges[i], ranges[i + 1]);
    }
    return this.classNode(ranges);
  }

  /**
   * Reads an escape (pos just after the backslash). A single character is returned; a class
   * escape (\d …) adds its ranges and returns -1. On error, fails and returns -2.
   */
  escapeInto(ranges: i32[], at: i32, inClass: bool): i32 {
    const c = this.peek();
    this.pos++;
    switch (c) {
      case 0x64: this.addAll(ranges, DIGIT, false); return -1; // \d
      case 0x44: this.addAll(ranges, DIGIT, true); return -1; // \D
      case 0x77: this.addAll(ranges, WORD, false); return -1; // \w
      case 0x57: this.addAll(ranges, WORD, true); return -1; // \W
      case 0x73: this.addAll(ranges, SPACE, false); return -1; // \s
      case 0x53: this.addAll(ranges, SPACE, true); return -1; // \S
      case 0x74: return 0x09; // \t
      case 0x6e: return 0x0a; // \n
      case 0x72: return 0x0d; // \r
      case 0x66: return 0x0c; // \f
      case 0x76: return 0x0b; // \v
      case 0x61: return 0x07; // \a
      case 0x78: return this.hexEscape(at); // \x
      case 0x70: case 0x50:
        this.fail("Unicode classes (\\" + String.fromCharCode(c) + "{...}) are not supported", at);
        return -2;
      case 0x6b:
        this.fail("backreferences (\\k<name>) are not supported", at);
        return -2;
      default: break;
    }
    if (isDigit(c)) {
      this.fail("backreferences and octal escapes (\\" + String.fromCharCode(c) + ") are not supported", at);
      return -2;
    }
    if (c < 0x80 && !isWordUnit(c)) return c; // escaped punctuation (or space)
    if (inClass && (c == 0x62 || c == 0x42 || c == 0x41 || c == 0x7a)) {
      this.fail("\\" + String.fromCharCode(c) + " is not allowed inside a character class", at);
      return -2;
    }
    this.pos--;
    this.fail("unknown escape \\" + String.fromCodePoint(this.nextCp()), at);
    return -2;
  }

  addAll(ranges: i32[], cls: i32[], negated: bool): void {
    const r = negated ? negate(cls) : cls;
    for (let i = 0; i < r.length; i++) ranges.push(r[i]);
  }

  /** `\xHH` or `\x{H…}`, pos after the 'x'. */
  hexEscape(at: i32): i32 {
    if (this.peek() == 0x7b) {
      this.pos++;
      let v = 0;
      let digits = 0;
      while (this.pos < this.s.length && this.peek() != 0x7d) {
        const h = hexValue(this.peek());
        if (h < 0) {
          this.fail("invalid hex escape \\x{...}", at);
          return -2;
        }
        v = v * 16 + h;
        if (v > MAX_CP) {
          this.fail("hex escape beyond U+10FFFF", at);
          return -2;
        }
        digits++;
        this.pos++;
      }
      if (this.pos >= this.s.length || digits == 0) {
        this.fail("invalid hex escape \\x{...}", at);
        return -2;
      }
      this.pos++;
      return v;
    }
    const h1 = hexValue(this.peek());
    const h2 = hexValue(this.peekAt(1));
    if (h1 < 0 || h2 < 0) {
      this.fail("invalid hex escape: \\x needs two hex digits (or \\x{...})", at);
      return -2;
    }
    this.pos += 2;
    return h1 * 16 + h2;
  }

  parseClass(): Node {
    const at = this.pos;
    this.pos++; // '['
    let negated = false;
    if (this.peek() == 0x5e) {
      negated = true;
      this.pos++;
    }
    const ranges = new Array<i32>();
    let first = true;
    while (!this.failed) {
      if (this.pos >= this.s.length) return this.fail("missing ]: unterminated character class", at);
      const c = this.peek();
      if (c == 0x5d && !first) { // ']'
        this.pos++;
        break;
      }
      first = false;
      // [:name:]
      if (c == 0x5b && this.peekAt(1) == 0x3a) {
        const end = this.s.indexOf(":]", this.pos + 2);
        if (end > 0) {
          let name = this.s.substring(this.pos + 2, end);
          let neg = false;
          if (name.startsWith("^")) {
            neg = true;
            name = name.substring(1);
          }
          const cls = posixClass(name);
          if (cls === null) return this.fail("unknown POSIX class [:" + name + ":]", this.pos);
          this.addAll(ranges, cls, neg);
          this.pos = end + 2;
          continue;
        }
      }
      const itemAt = this.pos;
      const lo = this.classChar(ranges);
      if (lo == -2) return new Node(N_EMPTY);
      if (lo == -1) continue; // a class escape
      // A range, unless '-' is the last character before ']'.
      if (this.peek() == 0x2d && this.peekAt(1) != 0x5d && this.peekAt(1) != -1) {
        this.pos++;
        const hiAt = this.pos;
        const hi = this.classChar(ranges);
        if (hi == -2) return new Node(N_EMPTY);
        if (hi == -1) return this.fail("invalid character class range: a class escape cannot end a range", hiAt);
        if (hi < lo) return this.fail("invalid character class range " + this.s.substring(itemAt, this.pos), itemAt);
        addRange(ranges, lo, hi);
      } else {
        addRange(ranges, lo, lo);
      }
    }
    if (this.fold) {
      const n = ranges.length;
      for (let i = 0; i < n; i += 2) addFolded(ranges, ranges[i], ranges[i + 1]);
    }
    let r = normalize(ranges);
    if (negated) r = negate(r);
    const node = new Node(N_CLASS);
    node.ranges = r;
    if (r.length == 0) {
      // Matches nothing (e.g. [^\x00-\x{10FFFF}]): an empty class never matches.
      node.ranges = [1, 0];
    }
    return node;
  }

  /** One class member: a character (>= 0), a class escape added to ranges (-1), or an error (-2). */
  classChar(ranges: i32[]): i32 {
    const c = this.peek();
    if (c == 0x5c) {
      const at = this.pos;
      this.pos++;
      if (this.pos >= this.s.length) {
        this.fail("missing ]: unterminated character class", at);
        return -2;
      }
      return this.escapeInto(ranges, at, true);
    }
    return this.nextCp();
  }
}
