// Who may talk to the admin API: anyone on the loopback interface by default; anywhere else only
// with the bearer token. The token check compares SHA-256 digests with timingSafeEqual, so neither
// the token's content nor its length shows in response times.
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";

/** 127.0.0.0/8, ::1 (and IPv4-mapped 127.x) or "localhost": reachable from this host only. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost") return true;
  const family = isIP(h);
  if (family === 4) return h.split(".")[0] === "127";
  if (family !== 6) return false;
  // The URL parser writes IPv6 addresses in their shortest form, so one comparison covers
  // "0:0:0:0:0:0:0:1" and "::1", and IPv4-mapped loopback comes out as ::ffff:7fXX:XXXX.
  const canonical = new URL(`http://[${h}]/`).hostname.slice(1, -1);
  return canonical === "::1" || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
}

/** A checker of `Authorization: Bearer <token>` header values against `token`. */
export function bearerTokenChecker(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const presented = /^Bearer +(\S+) *$/i.exec(authorization ?? "")?.[1];
    // Digest (and compare) even when nothing usable was sent, so a malformed header costs the
    // same time as a wrong token.
    const same = timingSafeEqual(digest(presented ?? ""), expected);
    return presented !== undefined && same;
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
