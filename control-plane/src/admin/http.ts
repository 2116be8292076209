// Response helpers and the one error shape every admin endpoint answers with:
// {"error": code, "message": ..., "errors": [{path, line, column, message}]}.
import type { IncomingMessage, ServerResponse } from "node:http";
import { boundMessage } from "../config/errors.js";
import type { ConfigError } from "../config/index.js";

/** A config error as the API shows it (the file name stays on the server). */
export interface LocatedError {
  path: string;
  line: number;
  column: number;
  message: string;
}

/**
 * A request the API refuses: the status, a stable code, a message for people, located errors.
 * Messages are bounded (boundMessage): they may name what the request carried (a resource name
 * from the URL or the body), which can be as long as the request.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: LocatedError[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(boundMessage(message));
  }
}

export function located(errors: readonly ConfigError[] | undefined): LocatedError[] {
  return (errors ?? []).map((e) => ({ path: e.path, line: e.line, column: e.column, message: boundMessage(e.message) }));
}

const COMMON = { "x-content-type-options": "nosniff" };

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, "application/json; charset=utf-8", `${JSON.stringify(body, null, 2)}\n`, headers);
}

export function sendText(
  res: ServerResponse,
  status: number,
  contentType: string,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...COMMON, ...headers, "content-type": contentType, "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...COMMON, ...headers });
  res.end();
}

export function sendError(res: ServerResponse, e: ApiError): void {
  sendJson(res, e.status, { error: e.code, message: e.message, errors: e.errors }, e.headers);
}

/** Does an If-None-Match header name `etag` (weak comparison, as RFC 9110 asks for GET)? */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, "");
  return header.split(",").some((t) => t.trim() === "*" || bare(t) === bare(etag));
}

/** The lower-case media type of a header value (parameters dropped), or undefined. */
export function mediaType(value: string | undefined): string | undefined {
  const type = value?.split(";", 1)[0]?.trim().toLowerCase();
  return type === "" ? undefined : type;
}

/** The request's charset parameter, if any (lower case). */
export function charset(req: IncomingMessage): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(req.headers["content-type"] ?? "")?.[1]?.toLowerCase();
}

/**
 * Which of `offers` the Accept header prefers (RFC 9110 q-values; exact types beat type/* beats
 * *\/*); the first offer when there is no Accept header or nothing in it matches.
 */
export function preferredType(accept: string | undefined, offers: readonly string[]): string {
  const first = offers[0]!;
  if (!accept) return first;
  const ranges = accept.split(",").map((part) => {
    const [range = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const q = params.map((p) => /^q=([0-9.]+)$/.exec(p)?.[1]).find((v) => v !== undefined);
    return { range, q: q === undefined ? 1 : Number(q) };
  });
  const quality = (offer: string): number => {
    const [type] = offer.split("/");
    const hit =
      ranges.find((r) => r.range === offer) ?? ranges.find((r) => r.range === `${type}/*`) ?? ranges.find((r) => r.range === "*/*");
    return hit?.q ?? 0;
  };
  let best = first;
  let bestQ = quality(first);
  for (const offer of offers.slice(1)) {
    const q = quality(offer);
    if (q > bestQ) {
      best = offer;
      bestQ = q;
    }
  }
  return best;
}
