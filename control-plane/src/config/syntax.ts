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

/**
 * JavaScript's RegExp checks the syntax; Envoy compiles with RE2, which in addition refuses
 * lookaround and backreferences, so those are reported here rather than as an Envoy rejection.
 */
export function regexError(pattern: string): string | null {
  try {
    // RE2's Python-style named groups (?P<name>…) are the same as JavaScript's (?<name>…).
    new RegExp(pattern.replaceAll("(?P<", "(?<"));
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return `invalid regex ${JSON.stringify(pattern)}: ${text.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "")}`;
  }
  const unsupported = re2Unsupported(pattern);
  return unsupported ? `invalid regex ${JSON.stringify(pattern)}: RE2 (Envoy's regex engine) has no ${unsupported}` : null;
}

function re2Unsupported(pattern: string): string | null {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      if (!inClass && /[1-9]/.test(pattern[i + 1] ?? "")) return "backreferences";
      i++; // the escaped character is literal
    } else if (inClass) {
      if (c === "]") inClass = false;
    } else if (c === "[") {
      inClass = true;
    } else if (c === "(" && /^\(\?<?[=!]/.test(pattern.slice(i, i + 4))) {
      return "lookahead or lookbehind";
    }
  }
  return null;
}
