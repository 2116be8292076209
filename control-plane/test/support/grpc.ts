// A small gRPC service for gateway tests, defined by hand: messages are JSON in Buffers (Envoy
// never looks at gRPC payloads, so no .proto file or generated code is needed). The server
// records every call with the peer address it came from: one peer per upstream connection, which
// is how a test sees connection reuse from the upstream's side.
import * as grpc from "@grpc/grpc-js";

export const PROBE_SERVICE = "portico.test.Probe";
/** Path prefix of every method of the service (what a gateway route matches on). */
export const PROBE_PREFIX = `/${PROBE_SERVICE}/`;

export interface EchoRequest {
  text: string;
  /** Answer with this status instead of a reply. */
  fail?: { code: grpc.status; details: string };
}
export interface EchoReply {
  text: string;
  /** Text metadata the server received, first value of each key. */
  metadata: Record<string, string>;
}
export interface CountRequest {
  n: number;
  intervalMs?: number;
}
export interface CountReply {
  i: number;
}
export interface ChatMessage {
  text: string;
}

const toJson = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), "utf8");
const fromJson = <T>(b: Buffer): T => JSON.parse(b.toString("utf8")) as T;

function method<Req, Res>(name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Req, Res> {
  return {
    path: `${PROBE_PREFIX}${name}`,
    requestStream,
    responseStream,
    requestSerialize: toJson,
    requestDeserialize: fromJson<Req>,
    responseSerialize: toJson,
    responseDeserialize: fromJson<Res>,
  };
}

const probeService = {
  /** Unary: replies with the text and the request metadata it saw, or fails as asked. */
  Echo: method<EchoRequest, EchoReply>("Echo", false, false),
  /** Server streaming: n messages {i: 1..n}, intervalMs apart. */
  Count: method<CountRequest, CountReply>("Count", false, true),
  /** Bidi: every message comes back upper-cased, as it arrives. */
  Chat: method<ChatMessage, ChatMessage>("Chat", true, true),
};

export interface ProbeCallRecord {
  method: string;
  peer: string;
}

export interface ProbeServer {
  port: number;
  /** Every call so far, oldest first. */
  calls: ProbeCallRecord[];
  close(): Promise<void>;
}

function textMetadata(md: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) if (typeof v === "string") out[k] = v;
  return out;
}

/** Starts the probe service on 127.0.0.1 (plaintext HTTP/2, as gRPC upstreams behind a gateway are). */
export async function startProbeServer(): Promise<ProbeServer> {
  const calls: ProbeCallRecord[] = [];
  const server = new grpc.Server();
  const record = (name: string, call: { getPeer(): string }) => calls.push({ method: name, peer: call.getPeer() });

  const echo: grpc.handleUnaryCall<EchoRequest, EchoReply> = (call, reply) => {
    record("Echo", call);
    const tag = call.metadata.get("x-tag")[0];
    if (tag !== undefined) {
      const headers = new grpc.Metadata();
      headers.set("x-echo-tag", String(tag));
      call.sendMetadata(headers);
    }
    const trailers = new grpc.Metadata();
    if (call.request.fail) {
      trailers.set("x-error-reason", "asked-to-fail");
      reply({ code: call.request.fail.code, details: call.request.fail.details, metadata: trailers });
      return;
    }
    trailers.set("x-trailer", "echo-done");
    reply(null, { text: call.request.text, metadata: textMetadata(call.metadata) }, trailers);
  };

  const count: grpc.handleServerStreamingCall<CountRequest, CountReply> = (call) => {
    record("Count", call);
    const { n, intervalMs = 0 } = call.request;
    let i = 0;
    const next = () => {
      if (call.cancelled) return;
      if (i === n) {
        const trailers = new grpc.Metadata();
        trailers.set("x-count", String(n));
        call.end(trailers);
        return;
      }
      call.write({ i: ++i });
      if (intervalMs > 0) setTimeout(next, intervalMs);
      else setImmediate(next);
    };
    next();
  };

  const chat: grpc.handleBidiStreamingCall<ChatMessage, ChatMessage> = (call) => {
    record("Chat", call);
    call.on("data", (m: ChatMessage) => call.write({ text: m.text.toUpperCase() }));
    call.on("end", () => call.end());
  };

  server.addService(probeService, { Echo: echo, Count: count, Chat: chat });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        // Graceful first; anything still open (a test's stream) is cut after a moment.
        const timer = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

export interface UnaryResult<T> {
  reply: T;
  headers: grpc.Metadata;
  trailers: grpc.Metadata;
}
export interface StreamResult<T> {
  messages: T[];
  headers: grpc.Metadata | undefined;
  status: grpc.StatusObject;
}

/** A client of the probe service over plaintext HTTP/2 (h2c), one channel per instance. */
export class ProbeClient {
  private readonly client: grpc.Client;

  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  /** Resolves with the reply and the response metadata; rejects with the ServiceError on a non-OK status. */
  echo(req: EchoRequest, metadata = new grpc.Metadata()): Promise<UnaryResult<EchoReply>> {
    const m = probeService.Echo;
    return new Promise((resolve, reject) => {
      let headers = new grpc.Metadata();
      let reply: EchoReply | undefined;
      let failed: grpc.ServiceError | undefined;
      const call = this.client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req, metadata, (err, value) => {
        if (err) failed = err;
        else reply = value;
      });
      call.on("metadata", (md: grpc.Metadata) => (headers = md));
      // "status" comes after the callback and carries the trailers of a successful call.
      call.on("status", (s: grpc.StatusObject) => {
        if (failed) reject(failed);
        else if (reply === undefined) reject(new Error(`no reply, status ${s.code} ${s.details}`));
        else resolve({ reply, headers, trailers: s.metadata });
      });
    });
  }

  /** Resolves once the stream has ended and its status arrived, whatever the status. */
  count(req: CountRequest, metadata = new grpc.Metadata()): Promise<StreamResult<CountReply>> {
    const m = probeService.Count;
    const call = this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, req, metadata);
    return collect<CountReply>(call);
  }

  /** Sends each message and waits for its answer before the next (a conversation), then half-closes. */
  async chat(texts: string[]): Promise<StreamResult<ChatMessage>> {
    const m = probeService.Chat;
    const call = this.client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, new grpc.Metadata());
    const done = collect<ChatMessage>(call);
    let seen = 0;
    const answered = (k: number) =>
      new Promise<void>((resolve, reject) => {
        if (seen >= k) return resolve();
        const onData = () => {
          if (++seen >= k) {
            call.off("data", onData);
            call.off("status", onStatus);
            resolve();
          }
        };
        const onStatus = (s: grpc.StatusObject) => reject(new Error(`stream ended early: ${s.code} ${s.details}`));
        call.on("data", onData);
        call.on("status", onStatus);
      });
    for (const [k, text] of texts.entries()) {
      call.write({ text });
      await answered(k + 1);
    }
    call.end();
    return done;
  }

  /** Calls a method of a service the gateway has no route for (same channel). */
  unknownService(): Promise<grpc.ServiceError> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest("/portico.test.Unrouted/Echo", toJson, fromJson, {}, (err) =>
        err ? resolve(err) : reject(new Error("a call to an unrouted service succeeded")),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

type ReadableCall<T> = grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>;

function collect<T>(call: ReadableCall<T>): Promise<StreamResult<T>> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    let headers: grpc.Metadata | undefined;
    let status: grpc.StatusObject | undefined;
    let ended = false;
    // The status is emitted right after the last message is queued; "end" follows once every
    // queued message was delivered, so wait for both.
    const settle = () => {
      if (status && ended) resolve({ messages, headers, status });
    };
    call.on("metadata", (md: grpc.Metadata) => (headers = md));
    call.on("data", (d: T) => messages.push(d));
    call.on("error", () => undefined); // reported through "status"
    call.on("status", (s: grpc.StatusObject) => {
      status = s;
      settle();
    });
    call.on("end", () => {
      ended = true;
      settle();
    });
  });
}
