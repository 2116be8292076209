import { compileRegex, regexMatches } from "../match/regex";

function errorOf(pattern: string): string {
  const c = compileRegex(pattern);
  return c.ok ? "" : c.error;
}

function expectError(pattern: string, fragment: string): void {
  const e = errorOf(pattern);
  expect(e.includes(fragment)).toBe(true, pattern + " gave: " + e);
}

describe("regex: full-match semantics", () => {
  it("matches the whole text only", () => {
    expect(regexMatches("abc", "abc")).toBe(true);
    expect(regexMatches("abc", "abcd")).toBe(false);
    expect(regexMatches("abc", "xabc")).toBe(false);
    expect(regexMatches("b", "abc")).toBe(false);
    expect(regexMatches("", "")).toBe(true);
    expect(regexMatches("", "a")).toBe(false);
  });

  it("accepts ^ and $ as harmless anchors", () => {
    expect(regexMatches("^/api/.*$", "/api/x")).toBe(true);
    expect(regexMatches("^/api/.*$", "/v2/api/x")).toBe(false);
    expect(regexMatches("a^b", "ab")).toBe(false);
    expect(regexMatches("a$", "a")).toBe(true);
  });
});

describe("regex: syntax", () => {
  it("handles literals and escapes", () => {
    expect(regexMatches("a\\.b", "a.b")).toBe(true);
    expect(regexMatches("a\\.b", "axb")).toBe(false);
    expect(regexMatches("a\\\\b", "a\\b")).toBe(true);
    expect(regexMatches("\\t\\n\\r", "\t\n\r")).toBe(true);
    expect(regexMatches("\\x41\\x{42}", "AB")).toBe(true);
    expect(regexMatches("\\Qa.b*\\E", "a.b*")).toBe(true);
    expect(regexMatches("\\Qa.b*\\E", "axbb")).toBe(false);
    expect(regexMatches("a{", "a{")).toBe(true);
    expect(regexMatches("a{,2}", "a{,2}")).toBe(true);
    expect(regexMatches("]", "]")).toBe(true);
  });

  it("handles perl classes", () => {
    expect(regexMatches("\\d+", "0123456789")).toBe(true);
    expect(regexMatches("\\d+", "12a")).toBe(false);
    expect(regexMatches("\\D\\w\\W\\s\\S", "a_-\tx")).toBe(true);
    expect(regexMatches("\\s", "\u000b")).toBe(false); // RE2's \s has no \v
  });

  it("handles . (not \\n unless (?s))", () => {
    expect(regexMatches("a.c", "abc")).toBe(true);
    expect(regexMatches("a.c", "a\nc")).toBe(false);
    expect(regexMatches("(?s)a.c", "a\nc")).toBe(true);
  });

  it("handles bracket classes", () => {
    expect(regexMatches("[abc]+", "abccba")).toBe(true);
    expect(regexMatches("[^a-z]+", "ABC123")).toBe(true);
    expect(regexMatches("[^a-z]+", "ABcD")).toBe(false);
    expect(regexMatches("[\\d_]+", "1_2")).toBe(true);
    expect(regexMatches("[a-]+", "a-a")).toBe(true);
    expect(regexMatches("[-a]+", "-a")).toBe(true);
    expect(regexMatches("[]a]+", "]a")).toBe(true);
    expect(regexMatches("[^]a]", "b")).toBe(true);
    expect(regexMatches("[^]a]", "]")).toBe(false);
    expect(regexMatches("[[:alpha:]]+[[:digit:]]", "abc1")).toBe(true);
    expect(regexMatches("[[:^digit:]]", "1")).toBe(false);
    expect(regexMatches("[\\]\\\\]+", "]\\")).toBe(true);
    expect(regexMatches("[^\\n]", "\n")).toBe(false);
  });

  it("handles groups and alternation", () => {
    expect(regexMatches("(ab|cd)+", "abcdab")).toBe(true);
    expect(regexMatches("(?:ab|cd)+", "abce")).toBe(false);
    expect(regexMatches("(?P<v>v[0-9]+)/(?<id>\\d+)", "v2/17")).toBe(true);
    expect(regexMatches("a|", "")).toBe(true);
    expect(regexMatches("|a", "a")).toBe(true);
    expect(regexMatches("()", "")).toBe(true);
    expect(regexMatches("/(users|groups)/[^/]+", "/users/42")).toBe(true);
    expect(regexMatches("/(users|groups)/[^/]+", "/users/42/x")).toBe(false);
  });

  it("handles quantifiers and their lazy forms", () => {
    expect(regexMatches("a*", "")).toBe(true);
    expect(regexMatches("a+", "")).toBe(false);
    expect(regexMatches("a?b", "b")).toBe(true);
    expect(regexMatches("a{3}", "aaa")).toBe(true);
    expect(regexMatches("a{3}", "aa")).toBe(false);
    expect(regexMatches("a{2,}", "aaaaa")).toBe(true);
    expect(regexMatches("a{2,}", "a")).toBe(false);
    expect(regexMatches("a{2,3}", "aaaa")).toBe(false);
    expect(regexMatches("a{2,3}", "aaa")).toBe(true);
    expect(regexMatches("a{0}", "")).toBe(true);
    expect(regexMatches("a*?b+?c??", "aabb")).toBe(true);
    expect(regexMatches("a{1,2}?", "aa")).toBe(true);
    expect(regexMatches("(a|ab)(c|bcd)(d*)", "abcd")).toBe(true);
  });

  it("handles flags", () => {
    expect(regexMatches("(?i)abc", "AbC")).toBe(true);
    expect(regexMatches("(?i)[a-c]+", "ABCabc")).toBe(true);
    expect(regexMatches("(?i)[^a]", "A")).toBe(false);
    expect(regexMatches("a(?i)b", "aB")).toBe(true);
    expect(regexMatches("a(?i)b", "AB")).toBe(false);
    expect(regexMatches("(?i:a)b", "Ab")).toBe(true);
    expect(regexMatches("(?i:a)b", "AB")).toBe(false);
    expect(regexMatches("(?i)é", "É")).toBe(true);
    expect(regexMatches("(?i)a(?-i)b", "Ab")).toBe(true);
    expect(regexMatches("(?i)a(?-i)b", "AB")).toBe(false);
    expect(regexMatches("(?m)a$\\n^b", "a\nb")).toBe(true);
    expect(regexMatches("(?U)a+", "aaa")).toBe(true);
  });

  it("handles word boundaries", () => {
    expect(regexMatches(".*\\bfoo\\b.*", "a foo b")).toBe(true);
    expect(regexMatches(".*\\bfoo\\b.*", "afoob")).toBe(false);
    expect(regexMatches(".*\\Bfoo.*", "afoo")).toBe(true);
  });

  it("steps through non-ASCII text by character", () => {
    expect(regexMatches("/caf.", "/café")).toBe(true);
    expect(regexMatches("/.", "/😀")).toBe(true); // one code point, two UTF-16 units
    expect(regexMatches("/..", "/😀")).toBe(false);
    expect(regexMatches("[😀-😂]", "😁")).toBe(true);
    expect(regexMatches("\\x{1F600}", "😀")).toBe(true);
    expect(regexMatches("[^a]", "😀")).toBe(true);
  });
});

describe("regex: errors", () => {
  it("names unsupported constructs", () => {
    expectError("(a)\\1", "backreferences");
    expectError("(?P<n>a)(?P=n)", "backreferences");
    expectError("a(?=b)", "lookahead");
    expectError("a(?!b)", "lookahead");
    expectError("(?<=a)b", "lookbehind");
    expectError("(?<!a)b", "lookbehind");
    expectError("(?>a)", "atomic");
    expectError("a*+", "possessive");
    expectError("a++", "possessive");
    expectError("\\p{Greek}", "Unicode classes");
    expectError("\\Z", "\\Z");
    expectError("(?#c)", "comments");
  });

  it("reports malformed patterns with an offset", () => {
    expectError("a(b", "missing )");
    expectError("a)b", "unexpected )");
    expectError("[ab", "missing ]");
    expectError("*a", "missing argument");
    expectError("a**", "bad repetition");
    expectError("a{2}{3}", "bad repetition");
    expectError("[z-a]", "invalid character class range");
    expectError("a{3,2}", "max below min");
    expectError("\\q", "unknown escape");
    expectError("a\\", "trailing backslash");
    expectError("(?z)", "unknown group or flag");
    expectError("a(?=b)", "(at offset 1)");
  });

  it("bounds repetition counts and program size", () => {
    expectError("a{1001}", "repetition count above 1000");
    expect(compileRegex("a{1000}").ok).toBe(true);
    expectError("(a{100}){100}", "too large");
    expectError("(ab){1,1000}", "too large");
    expect(compileRegex("\\d{1,1000}").ok).toBe(true);
    expectError("a".repeat(1025), "longer than 1024");
    expectError("(".repeat(300) + ")".repeat(300), "nested deeper");
  });
});

describe("regex: linear time", () => {
  it("handles pathological patterns without backtracking", () => {
    const text = "a".repeat(10000);
    expect(regexMatches("(a*)*b", text)).toBe(false);
    expect(regexMatches("(a|a)*b", text)).toBe(false);
    expect(regexMatches("(a|aa)*", text)).toBe(true);
    expect(regexMatches("(a?){30}a{30}", "a".repeat(30))).toBe(true);
    expect(regexMatches("(x+x+)+y", "x".repeat(5000))).toBe(false);
  });
});
