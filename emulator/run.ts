// A whole request/response round trip in one call, for tests about outcomes, not callbacks.
import type { HeaderList } from "./abi.js";
import type { Plugin } from "./plugin.js";
import type { Properties } from "./properties.js";
import type { HttpStream } from "./stream.js";
import type { HttpCall, HttpCallReply } from "./vm.js";

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
}

/** Runs the exchange through the plugin's filter and completes the stream. Throws if the filter never resumes it. */
export function runHttpRequest(plugin: Plugin, ex: HttpExchange): HttpStream {
  const vm = plugin.vm;
  const s = plugin.newHttpStream({ properties: ex.properties });
  const seen = new Set(vm.pendingHttpCalls.map((c) => c.token));
  const fresh = () => vm.pendingHttpCalls.filter((c) => c.plugin === plugin && !seen.has(c.token));
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
      fresh()
        .map((c) => `${c.token} -> ${c.upstream}`)
        .join(", ") || "none";
    throw new Error(`the filter paused the request and never resumed it (pending HTTP calls: ${pending})`);
  }
  if (!s.localResponse && !s.reset) direction(ex.responseHeaders ?? [[":status", "200"]], ex.responseBody, ex.responseTrailers, false);
  s.complete();
  return s;
}
