// A whole request/response round trip in one call, for tests about outcomes, not callbacks.
import type { HeaderList } from "./abi.js";
import type { Plugin } from "./plugin.js";
import type { Properties } from "./properties.js";
import type { HttpStream } from "./stream.js";
import type { GrpcCall, HttpCall, HttpCallReply } from "./vm.js";

export interface HttpExchange {
  requestHeaders: HeaderList;
  requestBody?: string | Uint8Array;
  requestTrailers?: HeaderList;
  /** The upstream response (default `:status 200`, no body); unused if the filter answers locally. */
  responseHeaders?: HeaderList;
  responseBody?: string | Uint8Array;
  responseTrailers?: HeaderList;
  properties?: Properties;
  /** Answers the HTTP callouts the filter makes; returning undefined fails (resets) the call. */
  httpCalls?: (call: HttpCall) => HttpCallReply | undefined;
  /** Answers the unary gRPC calls the filter makes: the response message, or a gRPC status (a number) that fails the call. */
  grpcCalls?: (call: GrpcCall) => Uint8Array | number;
}

/** Runs the exchange through the plugin's filter and completes the stream. Throws if the filter never resumes it. */
export function runHttpRequest(plugin: Plugin, ex: HttpExchange): HttpStream {
  const vm = plugin.vm;
  const s = plugin.newHttpStream({ properties: ex.properties });
  const seen = new Set(vm.pendingHttpCalls.map((c) => c.token));
  const fresh = () => vm.pendingHttpCalls.filter((c) => c.plugin === plugin && !seen.has(c.token));
  const seenGrpc = new Set(vm.grpcCalls.map((c) => c.token));
  const freshGrpc = () => vm.grpcCalls.filter((c) => c.plugin === plugin && !seenGrpc.has(c.token));
  const step = (send: () => unknown) => {
    send();
    for (let calls = fresh(); ex.httpCalls && calls.length > 0; calls = fresh()) {
      for (const call of calls) {
        seen.add(call.token);
        const reply = ex.httpCalls(call);
        if (reply) vm.respondToHttpCall(call.token, reply);
        else vm.failHttpCall(call.token);
      }
    }
    for (let calls = freshGrpc(); ex.grpcCalls && calls.length > 0; calls = freshGrpc()) {
      for (const call of calls) {
        seenGrpc.add(call.token);
        const reply = ex.grpcCalls(call);
        if (typeof reply === "number") vm.failGrpc(call.token, reply);
        else vm.respondGrpc(call.token, reply);
      }
    }
  };
  const direction = (headers: HeaderList, body: string | Uint8Array | undefined, trailers: HeaderList | undefined, req: boolean) => {
    const noMore = body === undefined && trailers === undefined;
    step(() => (req ? s.sendRequestHeaders(headers, { endOfStream: noMore }) : s.sendResponseHeaders(headers, { endOfStream: noMore })));
    const eos = { endOfStream: trailers === undefined };
    if (body !== undefined) step(() => (req ? s.sendRequestBody(body, eos) : s.sendResponseBody(body, eos)));
    if (trailers !== undefined) step(() => (req ? s.sendRequestTrailers(trailers) : s.sendResponseTrailers(trailers)));
  };
  direction(ex.requestHeaders, ex.requestBody, ex.requestTrailers, true);
  if (s.paused) {
    const pending =
      [...fresh().map((c) => `HTTP ${c.token} -> ${c.upstream}`), ...freshGrpc().map((c) => `gRPC ${c.token} -> ${c.cluster}`)].join(
        ", ",
      ) || "none";
    throw new Error(`the filter paused the request and never resumed it (pending calls: ${pending})`);
  }
  if (!s.localResponse && !s.reset) direction(ex.responseHeaders ?? [[":status", "200"]], ex.responseBody, ex.responseTrailers, false);
  s.complete();
  return s;
}
