// Which member started which call. Every member's HTTP and gRPC calls are made on the suite's
// root context, so Envoy answers them all there (proxy_on_http_call_response,
// proxy_on_grpc_receive/close); the answer goes back to the member that made the call, as if it
// had its own root. Envoy numbers each kind of call per root context: one map per kind.
import { Member } from "./member";

export class CallRoutes {
  /** HTTP calls in flight; an answer always comes (a reset or timeout is an answer without headers). */
  readonly http: Map<u32, Member> = new Map<u32, Member>();
  /** Unary gRPC calls in flight; one answer (receive or close) each, none after a cancel. */
  readonly grpc: Map<u32, Member> = new Map<u32, Member>();

  /** The member waiting for HTTP answer `token`, now no longer waiting; null for a token no member made. */
  takeHttp(token: u32): Member | null {
    return take(this.http, token);
  }

  /** The same for gRPC answer (receive or close) `token`. */
  takeGrpc(token: u32): Member | null {
    return take(this.grpc, token);
  }
}

function take(calls: Map<u32, Member>, token: u32): Member | null {
  if (!calls.has(token)) return null;
  const m = calls.get(token);
  calls.delete(token);
  return m;
}
