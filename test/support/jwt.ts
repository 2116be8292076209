// JWT test material: key pairs for every JWS algorithm, public JWKS, tokens (good ones minted
// with `jose`, deliberately broken ones assembled by hand with node:crypto), and a JWKS HTTP
// server whose key set can be swapped at runtime and which can be stopped and restarted on the
// same port (an identity provider going down and coming back).
//
// Everything here is independent of the filter under test: jose is the reference implementation
// that signs, node:crypto signs what jose refuses to (alg "none", confused algorithms, headers
// that are not JSON objects...).
import { createHmac, constants as cryptoConstants, KeyObject, sign as cryptoSign } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import * as jose from "jose";

export type JwsAlg =
  | "RS256"
  | "RS384"
  | "RS512"
  | "PS256"
  | "PS384"
  | "PS512"
  | "ES256"
  | "ES384"
  | "ES512"
  | "HS256"
  | "HS384"
  | "HS512"
  | "EdDSA";

/** The algorithms the jwt-auth filter's contract names (Envoy's jwt_authn supports all of them too). */
export const JWT_AUTH_ALGORITHMS: readonly JwsAlg[] = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "HS256",
  "HS384",
  "HS512",
  "EdDSA",
];

export type Claims = Record<string, unknown>;
export type Jwk = jose.JWK;
export interface Jwks {
  keys: Jwk[];
}

export interface TestKey {
  alg: JwsAlg;
  kid: string;
  /** What signs: the private key, or the HMAC secret. */
  signingKey: KeyObject | Uint8Array;
  /** The public JWK as published in a JWKS (for HMAC: the secret as an "oct" JWK), with kid, alg and use. */
  jwk: Jwk;
  /** PEM (SPKI) of the public key; undefined for HMAC secrets. */
  publicPem?: string;
}

const HASH: Record<string, string> = { "256": "sha256", "384": "sha384", "512": "sha512" };

/** Generates a key for `alg`: RSA 2048 (RS*, PS*), EC P-256/P-384/P-521 (ES*), Ed25519, or a random HMAC secret. */
export async function generateKey(alg: JwsAlg, kid = `${alg.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}`): Promise<TestKey> {
  if (alg.startsWith("HS")) {
    // RFC 7518 3.2: a secret at least as long as the hash output.
    const secret = jose.generateSecret(alg, { extractable: true });
    const raw = await jose.exportJWK(await secret);
    const bytes = jose.base64url.decode(raw.k!);
    return { alg, kid, signingKey: bytes, jwk: { kty: "oct", k: raw.k, kid, alg, use: "sig" } };
  }
  const pair = await jose.generateKeyPair(alg, { extractable: true, ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}) });
  const pub = await jose.exportJWK(pair.publicKey);
  const publicPem = await jose.exportSPKI(pair.publicKey);
  return { alg, kid, signingKey: KeyObject.from(pair.privateKey), jwk: { ...pub, kid, alg, use: "sig" }, publicPem };
}

/** One key per algorithm, kids "<alg>-<tag>" (e.g. "rs256-main"). */
export async function generateKeys(algs: readonly JwsAlg[], tag = "main"): Promise<Map<JwsAlg, TestKey>> {
  const out = new Map<JwsAlg, TestKey>();
  for (const alg of algs) out.set(alg, await generateKey(alg, `${alg.toLowerCase()}-${tag}`));
  return out;
}

/** A JWKS object publishing these keys' public halves. */
export function jwksOf(keys: Iterable<TestKey>): Jwks {
  return { keys: [...keys].map((k) => ({ ...k.jwk })) };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export interface MintOptions {
  /** Extra/overriding protected-header fields; `kid: undefined` leaves the kid out. */
  header?: Record<string, unknown>;
  /** Leave the kid out of the header (the verifier must find the key another way). */
  noKid?: boolean;
  /** Override the key's alg in the header (jose still signs with the algorithm named here). */
  alg?: JwsAlg;
}

/** Standard claims for a token valid now for one hour; `claims` override or add. */
export function standardClaims(issuer: string, claims: Claims = {}, now = nowSeconds()): Claims {
  return { iss: issuer, sub: "user-1", iat: now, nbf: now - 5, exp: now + 3600, ...claims };
}

/** Signs `claims` (used as is: add iss/exp yourself, or use standardClaims) with jose. */
export async function mint(key: TestKey, claims: Claims, o: MintOptions = {}): Promise<string> {
  const header: jose.CompactJWSHeaderParameters = {
    alg: o.alg ?? key.alg,
    typ: "JWT",
    ...(o.noKid ? {} : { kid: key.kid }),
    ...(o.header ?? {}),
  } as jose.CompactJWSHeaderParameters;
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(header).sign(key.signingKey);
}

// ---- raw assembly, for tokens jose would refuse to make ------------------------------------------

export const b64u = (data: string | Uint8Array): string => Buffer.from(data).toString("base64url");
export const b64uJson = (value: unknown): string => b64u(JSON.stringify(value));
export const fromB64u = (s: string): Buffer => Buffer.from(s, "base64url");

/** Signature bytes over `input` by algorithm name, with node:crypto (no checks on key/alg fit). */
export function rawSignature(alg: JwsAlg, key: KeyObject | Uint8Array, input: string): Buffer {
  const data = Buffer.from(input);
  if (alg.startsWith("HS")) {
    return createHmac(HASH[alg.slice(2)]!, key instanceof KeyObject ? key.export() : Buffer.from(key))
      .update(data)
      .digest();
  }
  if (!(key instanceof KeyObject)) throw new Error(`${alg} needs a private key`);
  const hash = HASH[alg.slice(2)];
  if (alg === "EdDSA") return cryptoSign(null, data, key);
  if (alg.startsWith("RS")) return cryptoSign(hash!, data, key);
  if (alg.startsWith("PS")) {
    return cryptoSign(hash!, data, { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
  }
  return cryptoSign(hash!, data, { key, dsaEncoding: "ieee-p1363" }); // ES*: JOSE wants r||s
}

/** header.payload.signature from raw segments; `signWith` signs "header.payload" (else empty signature). */
export function assemble(header: unknown, payload: unknown, signWith?: { alg: JwsAlg; key: KeyObject | Uint8Array }): string {
  const h = typeof header === "string" ? header : b64uJson(header);
  const p = typeof payload === "string" ? payload : b64uJson(payload);
  const input = `${h}.${p}`;
  return `${input}.${signWith ? b64u(rawSignature(signWith.alg, signWith.key, input)) : ""}`;
}

export const parts = (token: string): string[] => token.split(".");
export const payloadSegment = (token: string): string => parts(token)[1]!;
export const decodePayload = (token: string): Claims => JSON.parse(fromB64u(payloadSegment(token)).toString("utf8")) as Claims;

/** alg "none": unsigned (empty signature), or with `signature` appended. */
export function algNone(claims: Claims, o: { alg?: string; kid?: string; signature?: string } = {}): string {
  const header = { alg: o.alg ?? "none", typ: "JWT", ...(o.kid ? { kid: o.kid } : {}) };
  return `${b64uJson(header)}.${b64uJson(claims)}.${o.signature ?? ""}`;
}

/** Same header and signature, payload replaced by `claims` re-encoded: the signature no longer covers it. */
export function tamperPayload(token: string, claims: Claims): string {
  const [h, , s] = parts(token);
  return `${h}.${b64uJson(claims)}.${s}`;
}

/** Same header and payload, one bit of the signature flipped (still valid base64url, same length). */
export function tamperSignature(token: string): string {
  const [h, p, s] = parts(token);
  const sig = fromB64u(s!);
  sig[Math.floor(sig.length / 2)]! ^= 0x01;
  return `${h}.${p}.${b64u(sig)}`;
}

/**
 * The classic algorithm-confusion attack: an HMAC token whose "secret" is the bytes of a public
 * RSA/EC key the verifier trusts (its PEM, or its JWK JSON), carrying that key's kid, so a verifier
 * that lets the token pick the algorithm would accept it.
 */
export function hmacWithPublicKey(
  key: TestKey,
  claims: Claims,
  o: { form?: "pem" | "jwk" | "der"; alg?: "HS256" | "HS384" | "HS512"; kid?: string } = {},
): string {
  if (!key.publicPem) throw new Error("hmacWithPublicKey needs an asymmetric key");
  const alg = o.alg ?? "HS256";
  const form = o.form ?? "pem";
  const secret =
    form === "pem"
      ? Buffer.from(key.publicPem)
      : form === "jwk"
        ? Buffer.from(JSON.stringify(key.jwk))
        : Buffer.from(key.publicPem.replace(/-----[^-]+-----|\s/g, ""), "base64");
  return assemble({ alg, typ: "JWT", kid: o.kid ?? key.kid }, claims, { alg, key: secret });
}

/** A correctly signed token whose payload is padded with a filler claim to at least `bytes` characters. */
export async function oversized(key: TestKey, claims: Claims, bytes: number): Promise<string> {
  // base64url grows 4/3; pad generously, then check.
  const filler = "x".repeat(Math.ceil((bytes * 3) / 4));
  const token = await mint(key, { ...claims, filler });
  if (token.length < bytes) throw new Error(`oversized token is only ${token.length} bytes`);
  return token;
}

/** Malformed tokens that no verifier may accept, by name. `good` is a valid token they are derived from. */
export function malformedTokens(good: string): Record<string, string> {
  const [h, p, s] = parts(good);
  return {
    "two parts": `${h}.${p}`,
    "four parts": `${h}.${p}.${s}.${s}`,
    "empty header segment": `.${p}.${s}`,
    "bad base64url in the header": `${h!.slice(0, 4)}*!*${h!.slice(7)}.${p}.${s}`,
    "header is a JSON array": `${b64uJson(["RS256"])}.${p}.${s}`,
    "header is not JSON": `${b64u("{alg:RS256")}.${p}.${s}`,
    "payload is not JSON": `${h}.${b64u("not json")}.${s}`,
    garbage: "this-is-not-a-jwt",
    "dots only": "..",
  };
}

// ---- JWKS server ----------------------------------------------------------------------------------

export interface JwksServerOptions {
  /** Initial key set. */
  jwks?: Jwks;
  /** Path the key set is served at (any other path: 404). Default /.well-known/jwks.json. */
  path?: string;
  /** Port to listen on (0, the default: a free one, kept across stop()/start()). */
  port?: number;
}

export interface JwksServer {
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly path: string;
  /** Requests for `path` answered so far (while running, whatever the answer). */
  readonly fetches: number;
  /** Every request seen, in order: method, path and headers (lowercased names). */
  readonly requests: { method: string; path: string; headers: Record<string, string | string[] | undefined> }[];
  readonly running: boolean;
  /** Serve this key set from now on. */
  setJwks(jwks: Jwks): void;
  /** Hold every answer of the key-set path this long (0: answer at once). */
  setDelay(ms: number): void;
  /** Answer the key-set path with this status/body instead of the key set (undefined: back to normal). */
  setFailure(f: { status: number; body?: string } | undefined): void;
  /** Resolves once Envoy (or anyone) fetched more than `count` times in total. */
  waitForFetches(count: number, timeoutMs?: number): Promise<void>;
  /** Closes the listening socket and every open connection: connections are refused from now on. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startJwksServer(o: JwksServerOptions = {}): Promise<JwksServer> {
  const path = o.path ?? "/.well-known/jwks.json";
  let jwks: Jwks = o.jwks ?? { keys: [] };
  let failure: { status: number; body?: string } | undefined;
  let delayMs = 0;
  let fetches = 0;
  const requests: JwksServer["requests"] = [];
  let server: Server | undefined;
  let port = o.port ?? 0;
  const sockets = new Set<Socket>();

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const srv = createServer((req, res) => {
        requests.push({ method: req.method ?? "", path: req.url ?? "", headers: { ...req.headers } });
        if ((req.url ?? "").split("?")[0] !== path) {
          res.writeHead(404, { "content-type": "text/plain" }).end("not found");
          return;
        }
        fetches++;
        // What is answered is decided on arrival, so a later setJwks() does not change a delayed answer.
        const answer = failure
          ? { status: failure.status, type: "text/plain", body: failure.body ?? "" }
          : { status: 200, type: "application/json", body: JSON.stringify(jwks) };
        const reply = () => {
          if (res.destroyed) return;
          res.writeHead(answer.status, { "content-type": answer.type, "content-length": Buffer.byteLength(answer.body) }).end(answer.body);
        };
        if (delayMs > 0) setTimeout(reply, delayMs).unref();
        else reply();
      });
      srv.keepAliveTimeout = 60 * 60 * 1000; // Envoy reuses its connection to the cluster
      srv.on("connection", (s: Socket) => {
        sockets.add(s);
        s.once("close", () => sockets.delete(s));
      });
      srv.once("error", reject);
      srv.listen(port, "127.0.0.1", () => {
        srv.off("error", reject);
        const addr = srv.address();
        port = typeof addr === "object" && addr ? addr.port : port;
        server = srv;
        resolve();
      });
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      const srv = server;
      server = undefined;
      if (!srv) return resolve();
      srv.close(() => resolve());
      for (const s of sockets) s.destroy();
    });

  await listen();
  return {
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    path,
    get fetches() {
      return fetches;
    },
    requests,
    get running() {
      return server !== undefined;
    },
    setJwks: (j) => {
      jwks = j;
    },
    setFailure: (f) => {
      failure = f;
    },
    setDelay: (ms) => {
      delayMs = ms;
    },
    async waitForFetches(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (fetches <= count) {
        if (Date.now() > deadline)
          throw new Error(`JWKS server: still ${fetches} fetch(es) after ${timeoutMs} ms, waited for more than ${count}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    stop,
    start: async () => {
      if (!server) await listen();
    },
    close: stop,
  };
}
