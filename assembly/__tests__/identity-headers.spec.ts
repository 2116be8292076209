// The pure part of identity-header stripping: which names of a header list fold to an identity
// header. Case is covered here because the emulator (like Envoy's codecs) lower-cases names
// before the filter sees them; the fold does not rely on it.
import { IdentityHeaders, foldHeaderName } from "../runtime/identity-headers";
import { HeaderEntry, encodeHeaderPairs } from "../runtime/headers";

function spoofed(identity: IdentityHeaders, names: string[]): string[] {
  const entries = new Array<HeaderEntry>();
  for (let i = 0; i < names.length; i++) entries.push(new HeaderEntry(names[i], "v"));
  const found = identity.spoofedIn(encodeHeaderPairs(entries));
  const out = new Array<string>();
  for (let i = 0; i < found.length; i++) out.push(String.UTF8.decode(found[i]));
  return out;
}

describe("foldHeaderName", () => {
  it("lower-cases ASCII letters and reads _ as -", () => {
    expect(foldHeaderName("X_Jwt-Sub")).toBe("x-jwt-sub");
    expect(foldHeaderName("x-jwt-sub")).toBe("x-jwt-sub");
    expect(foldHeaderName("A_B.c~9")).toBe("a-b.c~9");
  });
});

const identity = new IdentityHeaders(["x-jwt-sub", "X_JWT_Roles", "x-jwt-sub"]);

describe("IdentityHeaders.spoofedIn", () => {
  it("counts duplicates and spelling variants of the configured names once", () => {
    expect(identity.size).toBe(2);
  });

  it("finds every spelling, in any case, each once, as sent", () => {
    const got = spoofed(identity, ["x_jwt_sub", "X_Jwt-Sub", "x-jwt_sub", "x-jwt-sub", "x_jwt_sub", "x-jwt-roles", "X-JWT-ROLES"]);
    expect(got).toStrictEqual(["x_jwt_sub", "X_Jwt-Sub", "x-jwt_sub", "x-jwt-sub", "x-jwt-roles", "X-JWT-ROLES"]);
  });

  it("leaves names that only look alike", () => {
    expect(spoofed(identity, ["x-jwt-subject", "x-jwt-su", "xx-jwt-sub", "x.jwt.sub", "x-jwt-sub ", ""]).length).toBe(0);
  });

  it("finds nothing when no identity header is configured", () => {
    expect(spoofed(new IdentityHeaders([]), ["x-jwt-sub"]).length).toBe(0);
  });

  it("reads a truncated or lying pair list up to the damage, without trapping", () => {
    const good = encodeHeaderPairs([new HeaderEntry("x_jwt_sub", "v")]);
    expect(identity.spoofedIn(good.slice(0, good.byteLength - 3)).length).toBe(0);
    expect(identity.spoofedIn(new ArrayBuffer(3)).length).toBe(0);
    const huge = new ArrayBuffer(12);
    store<u32>(changetype<usize>(huge), 0xffffffff); // a count no buffer can hold
    expect(identity.spoofedIn(huge).length).toBe(0);
    const lying = new ArrayBuffer(16);
    store<u32>(changetype<usize>(lying), 1);
    store<u32>(changetype<usize>(lying) + 4, 0xfffffff0); // a name size past the end
    expect(identity.spoofedIn(lying).length).toBe(0);
  });
});
