// What a request's rate-limit key is made of, and the client address it is attributed to.
import { addressIp } from "../../assembly/runtime/source";

export enum KeyKind {
  ClientIp = 0,
  Header = 1,
  Route = 2,
  Fixed = 3,
  /** The consumer an auth filter identified; the client address when none did. */
  Consumer = 4,
}

/**
 * The `consumer` key part: the caller's consumer name, or, for a request no auth filter
 * identified, its client address (as Kong's `limit_by: consumer` falls back to the IP). The
 * address is prefixed with "ip:", which no consumer name can start with (names have no ':',
 * assembly/config/consumers.ts), so an unidentified client never shares a consumer's bucket
 * whatever the names; the name itself goes in as it is, so the usual, identified request costs
 * no extra string.
 */
export function consumerKey(consumer: string | null, clientIp: string): string {
  return consumer !== null ? consumer : "ip:" + clientIp;
}

/**
 * The client address: the connection peer, unless the operator says how many proxies in front
 * of Envoy append to X-Forwarded-For. Then the N-th entry from the right is the client as the
 * outermost trusted proxy saw it; entries further left are whatever the client sent and are
 * never used, so prepending fake entries changes nothing.
 */
export function clientIp(peer: string | null, xff: string | null, trustedHops: i32): string {
  return clientIpOf(peer === null ? null : addressIp(peer), xff, trustedHops);
}

/** clientIp with the peer's IP already cut from its address (runtime sourceIp()). */
export function clientIpOf(peer: string | null, xff: string | null, trustedHops: i32): string {
  const peerIp = peer === null ? "" : peer;
  if (trustedHops <= 0 || xff === null) return peerIp;
  const entries = xff.split(",");
  if (entries.length < trustedHops) return peerIp;
  const candidate = entries[entries.length - trustedHops].trim();
  return candidate.length ? candidate : peerIp;
}

/** Length-prefixed concatenation, so parts can contain any character without ambiguity. */
export function joinKey(parts: string[]): string {
  let out = "";
  for (let i = 0; i < parts.length; i++) out += parts[i].length.toString() + ":" + parts[i];
  return out;
}

/** FNV-1a over UTF-16 code units: a stable slot hash (not a security boundary: slots are bounded). */
export function hashKey(key: string): u32 {
  let h: u32 = 2166136261;
  for (let i = 0; i < key.length; i++) {
    h ^= <u32>key.charCodeAt(i);
    h *= 16777619;
  }
  return h;
}
