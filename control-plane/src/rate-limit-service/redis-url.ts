// `--redis redis://[:password@]host:port` (or rediss:// for TLS) -> the rate limit service's
// REDIS_URL (host:port), REDIS_AUTH and REDIS_TLS. Parsed up front so a typo fails `portico run`
// with a message, not the supervised service in a restart loop.
import { parseHostPort } from "../config/syntax.js";

export interface RedisTarget {
  /** host:port, as REDIS_URL takes it. */
  address: string;
  /** REDIS_AUTH: "password", or "user:password" for a Redis ACL user. */
  auth?: string;
  tls: boolean;
}

/** The target, or an error message naming the flag. */
export function parseRedisUrl(text: string): RedisTarget | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `--redis: expected redis://host:port, got "${text}"`;
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") return `--redis: expected a redis:// or rediss:// URL, got "${text}"`;
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    return `--redis: a database number or options are not supported (the service uses database 0), got "${text}"`;
  }
  const address = `${url.hostname}:${url.port || "6379"}`;
  const parsed = parseHostPort(address);
  if (typeof parsed === "string") return `--redis: ${parsed.replace(/^invalid endpoint/, "invalid address")}`;
  const password = decodeURIComponent(url.password);
  const user = decodeURIComponent(url.username);
  const auth = password === "" ? undefined : user === "" ? password : `${user}:${password}`;
  return { address, ...(auth !== undefined ? { auth } : {}), tls: url.protocol === "rediss:" };
}
