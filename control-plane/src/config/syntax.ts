// Checks of single values that zod has no built-in for: host names, IP literals, endpoint
// strings, regular expressions. Each returns an error message or null, so both the zod schema and
// the hand-written checks can use them.
import { isIP } from "node:net";

const LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
/** A DNS name: dot-separated labels of letters, digits and inner hyphens. */
export const HOSTNAME_PATTERN = `^${LABEL}(\\.${LABEL})*$`;
/** A route host or SNI name: exact, or "*.suffix" for any name under suffix. */
export const HOST_MATCH_PATTERN = `^(\\*\\.)?${LABEL}(\\.${LABEL})*$`;
/** Listener, route, upstream, plugin and suite filter names (they become Envoy resource and stat names). */
export const NAME_PATTERN = "^[a-z0-9][a-z0-9_-]*$";

export function isIpLiteral(text: string): boolean {
  return isIP(text) !== 0;
}

export function hostMatchError(host: string, allowAny: boolean): string | null {
  if (allowAny && host === "*") return null;
  if (new RegExp(HOST_MATCH_PATTERN).test(host)) return null;
  const forms = allowAny ? `"*", an exact name or "*.suffix"` : `an exact name or "*.suffix"`;
  return `invalid host "${host}": expected ${forms} (no port, no other wildcard)`;
}

/** Endpoint hosts: an IP literal (IPv6 without brackets) or a DNS name. */
export function endpointHostError(host: string): string | null {
  if (isIpLiteral(host) || new RegExp(HOSTNAME_PATTERN).test(host)) return null;
  return `invalid host "${host}": expected an IP address or a DNS name`;
}

export type HostPort = { host: string; port: number };

/** "10.0.0.1:80", "backend:80", "[::1]:80" → host and port, or an error message. */
export function parseHostPort(text: string): HostPort | string {
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(text);
  if (bracketed) {
    host = bracketed[1] ?? "";
    portText = bracketed[2] ?? "";
    if (isIP(host) !== 6) return `invalid endpoint "${text}": only IPv6 addresses go in brackets`;
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) return `invalid endpoint "${text}": expected "host:port"`;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) return `invalid endpoint "${text}": write IPv6 addresses in brackets, e.g. "[::1]:8080"`;
    const hostError = endpointHostError(host);
    if (hostError) return `invalid endpoint "${text}": ${hostError}`;
  }
  const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return `invalid endpoint "${text}": the port must be a number from 1 to 65535`;
  return { host, port };
}

/** The longest regex accepted (UTF-16 units), as in the filters' engine; see RE2_MAX_PROGRAM_SIZE. */
export const MAX_REGEX_LENGTH = 1024;
/** RE2's largest repetition count, `{n}` / `{n,m}`, also for counts nested in one another. */
const RE2_MAX_REPEAT = 1000;

/**
 * Whether `pattern` is a regex Envoy's RE2 accepts. JavaScript's RegExp checks most of the syntax
 * (groups, classes, ranges, quantifiers: `a**` is refused by both); where RE2's syntax differs,
 * re2Normalize first rewrites what RE2 has and JavaScript spells otherwise, and refuses what RE2
 * refuses but JavaScript takes. This is not a second regex engine: RE2's Unicode class names
 * (`\p{Greek}`) and its program size (see RE2_MAX_PROGRAM_SIZE) are left to Envoy.
 */
export function regexError(pattern: string): string | null {
  const where = `invalid regex ${JSON.stringify(pattern)}`;
  if (pattern.length > MAX_REGEX_LENGTH) return `${where}: longer than ${MAX_REGEX_LENGTH} characters`;
  const normal = re2Normalize(pattern);
  if (normal.unsupported) return `${where}: RE2 (Envoy's regex engine) has no ${normal.unsupported}`;
  if (normal.error) return `${where}: ${normal.error}`;
  try {
    new RegExp(normal.js);
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return `${where}: ${text.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "")}`;
  }
  return null;
}

/** RE2's flag groups: `(?i)`, `(?i-s)`, `(?-m)` set or clear flags; `(?i:…)` within a group. */
const FLAG_GROUP = /^\(\?([imsU]*)(?:-([imsU]*))?([:)])/;
/** Letters RE2 takes after a backslash, outside and inside a class (others are refused). */
const RE2_ESCAPES = "aftnrvxdDsSwWpPbBAzQC"; // \E only ends a \Q…\E
const RE2_CLASS_ESCAPES = "aftnrvxdDsSwWpP";
const POSIX_CLASSES = [
  "alnum",
  "alpha",
  "ascii",
  "blank",
  "cntrl",
  "digit",
  "graph",
  "lower",
  "print",
  "punct",
  "space",
  "upper",
  "word",
  "xdigit",
];

/**
 * The pattern as a JavaScript (non-Unicode mode) regex with the same syntax verdict, or what RE2
 * refuses in it. Rewrites: `(?P<n>` to `(?<n>`; flag groups dropped (`(?i)`) or made plain
 * groups (`(?i:` to `(?:`); `\Q…\E`, `\x{…}`, `\p{…}`, `\pL` and `\C` to a plain letter (JavaScript
 * has no such escapes; `\x{…}` is checked to be at most FF: Envoy's RE2 refuses `\x{100}` and
 * above, as `envoy --mode validate` shows). Refused: backreferences
 * (`\1`, `\k<n>`, `(?P=n)`), lookahead and lookbehind, escapes RE2 does not know (`\Z`, `\y`), bad
 * flag groups (`(?i-)`), and repetition counts above 1000, alone or multiplied through
 * nested groups (`(a{10}){101}`), as RE2 refuses them.
 */
function re2Normalize(pattern: string): { js: string; unsupported?: string; error?: string } {
  let js = "";
  let inClass = false;
  // Per open group, the largest product of repetition counts inside it so far; the last atom's.
  const groups: number[] = [1];
  let lastAtom = 1;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    const rest = pattern.slice(i);
    if (c === "\\") {
      const e = pattern[i + 1] ?? "";
      if (/[1-9]/.test(e) || (e === "k" && !inClass)) return { js, unsupported: "backreferences" };
      if (e === "Q" && !inClass) {
        const end = pattern.indexOf("\\E", i + 2);
        const text = end < 0 ? pattern.slice(i + 2) : pattern.slice(i + 2, end);
        js += text ? "Q" : "(?:)";
        i = end < 0 ? pattern.length : end + 1;
        lastAtom = 1;
        continue;
      }
      if (/[A-Za-z]/.test(e) && !(inClass ? RE2_CLASS_ESCAPES : RE2_ESCAPES).includes(e)) {
        return { js, error: `invalid escape sequence \\${e}` };
      }
      const braced = /^\\[xpP]\{([^}]*)\}/.exec(rest) ?? /^\\[pP][A-Za-z]/.exec(rest);
      if (braced) {
        if (e === "x" && !(/^[0-9A-Fa-f]{1,8}$/.test(braced[1] ?? "") && Number.parseInt(braced[1] ?? "", 16) <= 0xff)) {
          return { js, error: `invalid escape sequence ${braced[0]}` };
        }
        js += "X";
        i += braced[0].length - 1;
      } else if (e === "C") {
        js += "X";
        i++;
      } else {
        js += c + e;
        i++;
      }
      lastAtom = 1;
      continue;
    }
    if (inClass) {
      const posix = /^\[:(\^?)([a-z]*):\]/.exec(rest);
      if (posix) {
        if (!POSIX_CLASSES.includes(posix[2] as string)) return { js, error: `invalid character class ${posix[0]}` };
        js += "X";
        i += posix[0].length - 1;
      } else if (c === "]" && /\[\^?$/.test(js)) {
        js += "\\]"; // RE2 (as POSIX) takes a "]" first in a class literally; JavaScript would end the class
      } else {
        if (c === "]") inClass = false;
        js += c;
      }
      continue;
    }
    if (c === "[") {
      inClass = true;
      js += c;
      lastAtom = 1;
      continue;
    }
    if (c === "(") {
      if (/^\(\?<?[=!]/.test(rest)) return { js, unsupported: "lookahead or lookbehind" };
      if (rest.startsWith("(?P=")) return { js, unsupported: "backreferences" };
      const flags = FLAG_GROUP.exec(rest);
      if (flags && !rest.startsWith("(?:")) {
        const [group, , clear, end] = flags;
        if (clear === "") return { js, error: `missing flags after - in ${group}` }; // (?) alone is fine
        i += group.length - 1;
        if (end === ":") {
          js += "(?:";
          groups.push(1);
        }
        continue; // (?flags) alone matches nothing
      }
      if (rest.startsWith("(?P<")) {
        js += "(?<";
        i += 3;
      } else {
        js += c;
      }
      groups.push(1);
      continue;
    }
    if (c === ")") {
      lastAtom = groups.length > 1 ? (groups.pop() as number) : 1;
      const top = groups.length - 1;
      groups[top] = Math.max(groups[top] as number, lastAtom);
      js += c;
      continue;
    }
    const count = /^\{(\d+)(,(\d*))?\}/.exec(rest);
    if (count) {
      const [text, lo, comma, hi] = count;
      const n = comma && hi ? Number(hi) : Number(lo);
      if (Number(lo) > RE2_MAX_REPEAT || (hi && Number(hi) > RE2_MAX_REPEAT)) {
        return { js, error: `bad repetition operator ${text}: counts are at most ${RE2_MAX_REPEAT}` };
      }
      const product = lastAtom * Math.max(n, 1);
      if (product > RE2_MAX_REPEAT) {
        return { js, error: `bad repetition operator ${text}: nested counts multiply to more than ${RE2_MAX_REPEAT}` };
      }
      lastAtom = product;
      const top = groups.length - 1;
      groups[top] = Math.max(groups[top] as number, product);
      js += text;
      i += text.length - 1;
      continue;
    }
    if (!"*+?|".includes(c)) lastAtom = 1;
    js += c;
  }
  return { js };
}
