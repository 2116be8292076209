// Matching request paths against the route table: templates such as "/routes/{name}" (the same
// strings the OpenAPI document and the metrics hook use), 404 for an unknown path, 405 with Allow
// for a known path and an unknown method.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "./http.js";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Decoded path parameters, by the names in the template. */
  params: Record<string, string>;
  query: URLSearchParams;
}

export interface Route {
  method: Method;
  /** e.g. "/routes/{name}": literal segments and `{param}` segments. */
  template: string;
  /**
   * Absent for endpoints the control plane serves through the server's fallback (status,
   * metrics, modules): listed so they are documented, authenticated and counted like the rest.
   */
  handle?: (c: RequestContext) => Promise<void>;
}

export interface PathMatch {
  template: string;
  params: Record<string, string>;
}

export class Router {
  /** Per template, its segments: a literal to compare, or `param` for a `{param}` segment. */
  private readonly templates: { template: string; segments: { literal?: string; param?: string }[] }[];

  constructor(readonly routes: readonly Route[]) {
    const unique = [...new Set(routes.map((r) => r.template))];
    // More literal segments first, so "/schema/routes" wins over a "/schema/{x}" should both exist.
    this.templates = unique
      .map((template) => ({ template, segments: template.split("/").slice(1).map(parseSegment) }))
      .sort((a, b) => literals(b.segments) - literals(a.segments));
  }

  /** The template a path belongs to (whatever the method), or undefined. */
  match(path: string): PathMatch | undefined {
    const parts = path.split("/").slice(1);
    for (const { template, segments } of this.templates) {
      if (segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      const fits = segments.every(({ literal, param }, i) => {
        const part = parts[i]!;
        if (param === undefined) return literal === part;
        const decoded = decode(part);
        if (decoded === undefined || decoded === "") return false;
        params[param] = decoded;
        return true;
      });
      if (fits) return { template, params };
    }
    return undefined;
  }

  /** Runs the route for `method` on `match`; ApiError 404 / 405 when there is none. */
  async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    match: PathMatch | undefined,
    query: URLSearchParams,
  ): Promise<void> {
    if (!match) throw new ApiError(404, "not_found", "no such endpoint (GET /openapi.json lists them)");
    const candidates = this.routes.filter((r) => r.template === match.template);
    const route = candidates.find((r) => r.method === method);
    if (!route) {
      const allow = candidates.map((r) => r.method).join(", ");
      throw new ApiError(405, "method_not_allowed", `${method} is not allowed here; allowed: ${allow}`, [], { allow });
    }
    if (!route.handle)
      throw new ApiError(404, "not_found", "this endpoint is served by the control plane, which is not attached to this server");
    await route.handle({ req, res, params: match.params, query });
  }
}

/** "/routes/" → "/routes" (but "/" stays). */
export function normalisePath(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.replace(/\/+$/, "") || "/" : path;
}

function parseSegment(segment: string): { literal?: string; param?: string } {
  const param = /^\{(\w+)\}$/.exec(segment)?.[1];
  return param === undefined ? { literal: segment } : { param };
}

function literals(segments: { param?: string }[]): number {
  return segments.filter((s) => s.param === undefined).length;
}

function decode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}
