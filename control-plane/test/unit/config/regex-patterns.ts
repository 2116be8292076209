// One list of regexes for the shared match vocabulary, with the verdict every side must give:
// routes (the gateway schema, for Envoy's RE2) and plugin rules (the filters' RE2-subset engine).
// `differs` names the documented exceptions (docs/gateway-config.md, "Matching requests"), where
// the filters refuse what Envoy's RE2 accepts or the other way round; `ok` is then RE2's verdict.
// control-plane/test/e2e/golden-validate.test.ts checks every `ok` against Envoy itself (envoy
// --mode validate, a route with the pattern as its safe_regex), but for the `portico` limits.

export interface RegexCase {
  pattern: string;
  ok: boolean;
  what: string;
  /** The filters' verdict differs from RE2's (the documented reason). */
  differs?: string;
  /** A limit of Portico's, on both sides, where Envoy's RE2 itself would accept (the reason). */
  portico?: string;
}

export const REGEX_CASES: RegexCase[] = [
  // Plain syntax, anchors, classes, escapes.
  { pattern: "/api/.*", ok: true, what: "literal and .*" },
  { pattern: "^/api/v[0-9]+$", ok: true, what: "anchors ^ $" },
  { pattern: "\\A/api\\z", ok: true, what: "anchors \\A \\z" },
  { pattern: "\\bv1\\B.*", ok: true, what: "word boundaries" },
  { pattern: "prod|staging|", ok: true, what: "alternation with an empty branch" },
  { pattern: "[^/]*\\.json", ok: true, what: "negated class, escaped dot" },
  { pattern: "[]a]+", ok: true, what: "] first in a class is literal" },
  { pattern: "[[:alpha:]_][[:^digit:]]*", ok: true, what: "POSIX classes" },
  { pattern: "\\d+\\D\\w\\W\\s\\S", ok: true, what: "Perl classes" },
  { pattern: "[\\d\\-_.]+", ok: true, what: "escapes in a class" },
  { pattern: "\\x41\\x{FF}\\t\\n", ok: true, what: "hex and control escapes" },
  { pattern: "\\Qa.b*c\\E+", ok: true, what: "\\Q…\\E literal text" },
  { pattern: "\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\/", ok: true, what: "escaped punctuation" },
  { pattern: "(?P<ver>v[0-9]+)/.*", ok: true, what: "(?P<name>) group" },
  { pattern: "(?<ver>v[0-9]+)/.*", ok: true, what: "(?<name>) group" },
  { pattern: "(?:a|b)c", ok: true, what: "non-capturing group" },
  // Flags.
  { pattern: "(?i)^/api/.*", ok: true, what: "leading (?i)" },
  { pattern: "(?i:/API)/.*", ok: true, what: "(?i:…) group" },
  { pattern: "(?s).*", ok: true, what: "(?s)" },
  { pattern: "(?m)^a$", ok: true, what: "(?m)" },
  { pattern: "(?U)a+", ok: true, what: "(?U)" },
  { pattern: "(?i-s)a.b", ok: true, what: "set and clear flags" },
  { pattern: "(?-i)a", ok: true, what: "clear a flag" },
  { pattern: "a(?i)b", ok: true, what: "flags mid-pattern" },
  { pattern: "(?x)a", ok: false, what: "an unknown flag" },
  { pattern: "(?)a", ok: true, what: "an empty flag group", differs: "the filters refuse an empty flag group" },
  { pattern: "(?i-)a", ok: false, what: "a dangling -" },
  // Repetition.
  { pattern: "a*?b+?c??", ok: true, what: "lazy quantifiers" },
  { pattern: "a{1000}", ok: true, what: "a count of 1000" },
  { pattern: "a{2,1000}", ok: true, what: "a range up to 1000" },
  { pattern: "a{3,}", ok: true, what: "an open range" },
  { pattern: "a{,5}", ok: true, what: "{,n} is literal text" },
  { pattern: "a{1001}", ok: false, what: "a count above 1000" },
  { pattern: "a{1,1001}", ok: false, what: "a range above 1000" },
  { pattern: "x{2,1}", ok: false, what: "max below min" },
  { pattern: "(a{100}){100}", ok: false, what: "nested counts multiplying past 1000" },
  {
    pattern: "(a{10}){101}",
    ok: false,
    what: "nested counts multiplying to 1010",
    differs: "RE2 refuses counts that multiply past 1000; the filters only bound their program size (2000)",
  },
  { pattern: "a**", ok: false, what: "a quantifier after a quantifier" },
  { pattern: "a{2}{3}", ok: false, what: "a count after a count" },
  { pattern: "a++", ok: false, what: "a possessive quantifier" },
  { pattern: "*a", ok: false, what: "a quantifier without operand" },
  // Not in RE2.
  { pattern: "(?=a)a", ok: false, what: "lookahead" },
  { pattern: "a(?!b)", ok: false, what: "negative lookahead" },
  { pattern: "(?<=a)b", ok: false, what: "lookbehind" },
  { pattern: "(?<!a)b", ok: false, what: "negative lookbehind" },
  { pattern: "(a)\\1", ok: false, what: "a backreference" },
  { pattern: "(?P<n>a)(?P=n)", ok: false, what: "a named backreference (?P=n)" },
  { pattern: "(?<n>a)\\k<n>", ok: false, what: "a named backreference \\k<n>" },
  { pattern: "(?>a)", ok: false, what: "an atomic group" },
  { pattern: "(?#note)a", ok: false, what: "a comment group" },
  { pattern: "a\\Z", ok: false, what: "\\Z" },
  { pattern: "\\y", ok: false, what: "an unknown letter escape" },
  { pattern: "a\\E", ok: false, what: "\\E without \\Q" },
  { pattern: "\\u0041", ok: false, what: "\\u escapes" },
  { pattern: "[[:word:][:foo:]]", ok: false, what: "an unknown POSIX class" },
  { pattern: "[\\b]", ok: false, what: "\\b in a class" },
  { pattern: "\\x{110000}", ok: false, what: "a code point above 10FFFF" },
  // Plain syntax errors.
  { pattern: "(a", ok: false, what: "an unterminated group" },
  { pattern: "a)", ok: false, what: "an unopened group" },
  { pattern: "[a", ok: false, what: "an unterminated class" },
  { pattern: "[z-a]", ok: false, what: "a reversed range" },
  { pattern: "a\\", ok: false, what: "a trailing backslash" },
  { pattern: "a".repeat(1024), ok: true, what: "1024 characters" },
  { pattern: "a".repeat(1025), ok: false, what: "1025 characters", portico: "the length limit is Portico's (both sides), not RE2's" },
  // Documented differences: the filters' engine has no Unicode classes and no \C.
  { pattern: "\\p{Greek}+", ok: true, what: "a Unicode class", differs: "the filters refuse \\p{…}" },
  { pattern: "\\pL+", ok: true, what: "a one-letter Unicode class", differs: "the filters refuse \\pL" },
  { pattern: "[\\P{Han}]", ok: true, what: "a negated Unicode class in a class", differs: "the filters refuse \\P{…}" },
  { pattern: "a\\C", ok: true, what: "\\C (any byte)", differs: "the filters refuse \\C" },
  // Envoy's RE2 takes \x{…} only up to FF; the filters take any code point.
  { pattern: "\\x{263A}", ok: false, what: "\\x{…} above FF", differs: "the filters accept any code point" },
];
