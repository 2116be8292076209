// basic-auth's pure parts: reading the Authorization value, the cache of verified credentials and
// the verification budget.
import { AuthorizationKind, BasicCredentials, MAX_AUTHORIZATION_BYTES, parseAuthorization } from "../authorization";
import { KEY_BYTES, VerifiedCache } from "../cache";
import { VerifyBudget } from "../budget";

const out = new BasicCredentials();

function parse(value: string): AuthorizationKind {
  const b = String.UTF8.encode(value);
  parseAuthorization(changetype<usize>(b), b.byteLength, out);
  return out.kind;
}

function user(): string {
  return String.UTF8.decodeUnsafe(out.userPtr, <usize>out.userLen);
}

function password(): string {
  return String.UTF8.decodeUnsafe(out.passwordPtr, <usize>out.passwordLen);
}

describe("Authorization: Basic", () => {
  it("splits user-id and password at the first colon", () => {
    expect(parse("Basic YWxpY2U6czpl")).toBe(AuthorizationKind.Basic); // alice:s:e
    expect(user()).toBe("alice");
    expect(password()).toBe("s:e");
    expect(parse("Basic OnB3")).toBe(AuthorizationKind.Basic); // :pw
    expect(user()).toBe("");
    expect(password()).toBe("pw");
    expect(parse("Basic YTo=")).toBe(AuthorizationKind.Basic); // a:
    expect(password()).toBe("");
  });

  it("takes the scheme in any case, several spaces and unpadded base64", () => {
    expect(parse("bAsIc YTpi")).toBe(AuthorizationKind.Basic); // a:b
    expect(parse("BASIC    YTpi")).toBe(AuthorizationKind.Basic);
    expect(parse("Basic YTpiYw")).toBe(AuthorizationKind.Basic); // a:bc, unpadded
    expect(password()).toBe("bc");
  });

  it("tells another scheme from a malformed Basic credential", () => {
    expect(parse("Bearer abc")).toBe(AuthorizationKind.OtherScheme);
    expect(parse("Digest x")).toBe(AuthorizationKind.OtherScheme);
    expect(parse("Bas")).toBe(AuthorizationKind.OtherScheme);
    expect(parse("Basic")).toBe(AuthorizationKind.Malformed);
    expect(parse("Basic ")).toBe(AuthorizationKind.Malformed);
    expect(parse("BasicYTpi")).toBe(AuthorizationKind.Malformed);
    expect(parse("Basic\tYTpi")).toBe(AuthorizationKind.Malformed);
    expect(parse("Basic YWxpY2U=")).toBe(AuthorizationKind.Malformed); // no colon
    expect(parse("Basic YTpi=")).toBe(AuthorizationKind.Malformed); // bad padding
    expect(parse("Basic YTpiY")).toBe(AuthorizationKind.Malformed); // 1 (mod 4)
    expect(parse("Basic YR==")).toBe(AuthorizationKind.Malformed); // unused bits set
    expect(parse("Basic YTpi,Basic YTpi")).toBe(AuthorizationKind.Malformed); // two joined by Envoy
    expect(parse("")).toBe(AuthorizationKind.Malformed);
  });

  it("refuses a value over the bound without decoding it", () => {
    const credentials = "YTpi" + "QUFB".repeat((MAX_AUTHORIZATION_BYTES - 10) / 4);
    expect(parse("Basic " + credentials)).toBe(AuthorizationKind.Basic);
    expect(parse("Basic " + credentials + "QUFB")).toBe(AuthorizationKind.Malformed);
  });
});

function key(fill: u8, last: u8 = 0): ArrayBuffer {
  const k = new Uint8Array(KEY_BYTES);
  k.fill(fill);
  k[KEY_BYTES - 1] = last;
  return k.buffer;
}

describe("the cache of verified credentials", () => {
  it("answers only for the same full key, the same user and before expiry", () => {
    const c = new VerifiedCache(16, 1000);
    const k = key(7);
    expect(c.has(changetype<usize>(k), 0, 0)).toBe(false);
    c.remember(changetype<usize>(k), 0, 100);
    expect(c.has(changetype<usize>(k), 0, 1099)).toBe(true);
    expect(c.has(changetype<usize>(k), 0, 1100)).toBe(false);
    expect(c.has(changetype<usize>(k), 1, 500)).toBe(false);
    // Same slot (same first bytes), last byte differs: no hit.
    expect(c.has(changetype<usize>(key(7, 1)), 0, 500)).toBe(false);
  });

  it("replaces what was in a slot", () => {
    const c = new VerifiedCache(1, 1000);
    c.remember(changetype<usize>(key(1)), 0, 0);
    c.remember(changetype<usize>(key(2)), 1, 0);
    expect(c.has(changetype<usize>(key(1)), 0, 10)).toBe(false);
    expect(c.has(changetype<usize>(key(2)), 1, 10)).toBe(true);
  });
});

describe("the verification budget", () => {
  it("starts full, refills continuously and holds at most a second's worth", () => {
    const b = new VerifyBudget(2);
    expect(b.take(0)).toBe(true);
    expect(b.take(0)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.take(499)).toBe(false);
    expect(b.take(500)).toBe(true);
    expect(b.take(10_000)).toBe(true);
    expect(b.take(10_000)).toBe(true);
    expect(b.take(10_000)).toBe(false);
  });

  it("does not refill when the clock goes back", () => {
    const b = new VerifyBudget(1);
    expect(b.take(5000)).toBe(true);
    expect(b.take(1000)).toBe(false);
    expect(b.take(5999)).toBe(false);
    expect(b.take(6000)).toBe(true);
  });
});
