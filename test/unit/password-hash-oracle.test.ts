// basic-auth's password hashing (assembly/crypto/sha1.ts, assembly/crypto/bcrypt.ts and the
// filter's checks in filters/basic-auth/hashes.ts) against maintained implementations: node:crypto
// for SHA-1 and bcryptjs for bcrypt, on random and edge-case passwords.
import { createHash, randomBytes } from "node:crypto";
import bcryptjs from "bcryptjs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { loadPasswordHarness, type PasswordHarness } from "../fixtures/wasm/password-harness/load.mjs";

let h: PasswordHarness;
beforeAll(async () => {
  h = await loadPasswordHarness();
}, 120_000);

/** A bcrypt hash string for `password` by bcryptjs, with the given variant and cost. */
function oracleHash(password: string, minor: "a" | "b" | "y", cost: number): string {
  const salt = bcryptjs.genSaltSync(cost).replace(/^\$2.\$/, `$2${minor}$`);
  return bcryptjs.hashSync(password, salt);
}

describe("SHA-1 against node:crypto", () => {
  it("hashes every length up to 300 bytes and some long ones, at once and in pieces", () => {
    for (const n of [...Array(301).keys(), 1000, 4096, 65537]) {
      const msg = randomBytes(n);
      const want = createHash("sha1").update(msg).digest("hex");
      expect(h.sha1(msg).toString("hex"), `${n} bytes`).toBe(want);
      expect(h.sha1(msg, 1 + (n % 67)).toString("hex"), `${n} bytes in pieces`).toBe(want);
    }
  });

  it("checks {SHA} hashes as htpasswd -s writes them (base64 of the SHA-1 digest)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 1, maxLength: 8 }), (pw, extra) => {
        const hash = `{SHA}${createHash("sha1").update(pw).digest("base64")}`;
        expect(h.verify(hash, pw)).toBe(true);
        expect(h.verify(hash, Buffer.concat([pw, extra]))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe("bcrypt against bcryptjs", () => {
  it("computes the same hash string for random passwords (ASCII and any Unicode), salts and variants", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 90 }), fc.string({ unit: "binary", maxLength: 40 })),
        fc.constantFrom("a" as const, "b" as const, "y" as const),
        (password, minor) => {
          const want = oracleHash(password, minor, 4);
          expect(h.bcrypt(password, want)).toBe(want);
          expect(h.verify(want, password)).toBe(true);
          expect(h.verify(want, `${password}x`)).toBe(Buffer.byteLength(password) >= 72);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("cuts passwords at 72 bytes as bcryptjs does, also when the cut falls inside a UTF-8 character", () => {
    for (const minor of ["a", "b", "y"] as const) {
      for (const password of ["x".repeat(71), "x".repeat(72), "x".repeat(73), `${"x".repeat(71)}é`, `${"x".repeat(70)}€`, "€".repeat(30)]) {
        const want = oracleHash(password, minor, 4);
        expect(h.bcrypt(password, want), `$2${minor}$ ${password.length} chars`).toBe(want);
        const bytes = Buffer.from(password, "utf8");
        // Anything past byte 72 is ignored by both; a change inside the first 72 bytes is not.
        expect(h.verify(want, Buffer.concat([bytes.subarray(0, 72), Buffer.from("tail")]))).toBe(bytes.length >= 72);
        expect(bcryptjs.compareSync(`${password}tail`, want)).toBe(bytes.length >= 72);
        const flipped = Buffer.from(bytes);
        flipped[Math.min(71, flipped.length - 1)]! ^= 1;
        expect(h.verify(want, flipped)).toBe(false);
      }
    }
  });

  it("accepts bcryptjs's own hashes at the costs the filter allows and refuses a wrong password", () => {
    for (const cost of [4, 5, 6]) {
      const hash = bcryptjs.hashSync("correct horse", cost);
      expect(h.verify(hash, "correct horse")).toBe(true);
      expect(h.verify(hash, "correct horsf")).toBe(false);
      expect(h.verify(hash, "Correct horse")).toBe(false);
      expect(h.verify(hash, "")).toBe(false);
    }
  });
});

describe("which hash formats basic-auth takes", () => {
  it("takes bcrypt up to cost 14 and {SHA}, and names every other htpasswd format it refuses", () => {
    expect(h.problem(bcryptjs.hashSync("p", 4))).toBe("");
    expect(h.problem(`{SHA}${createHash("sha1").update("p").digest("base64")}`)).toBe("");
    const salt = bcryptjs.genSaltSync(4).slice(7);
    expect(h.problem(`$2b$14$${salt}${"a".repeat(30)}.`)).toBe("");
    expect(h.problem(`$2b$15$${salt}${"a".repeat(30)}.`)).toMatch(
      /bcrypt cost 15 is above 14: every check .* blocks an Envoy worker thread/,
    );
    const refused: Array<[string, RegExp]> = [
      ["$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/", /Apache MD5 \(\$apr1\$/],
      ["$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", /MD5-crypt \(\$1\$\)/],
      ["$5$saltsalt$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF4EJhKl/", /SHA-256-crypt/],
      ["$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/", /SHA-512-crypt/],
      ["rqXexS6ZhobKA", /DES crypt/],
      ["hunter2", /plain text or an unknown format/],
      ["$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e", /\$2x\$ is not supported/],
      ["{SHA}notbase64", /20-byte SHA-1 digest/],
    ];
    for (const [hash, message] of refused) {
      const problem = h.problem(hash);
      expect(problem, hash).toMatch(message);
      if (!hash.startsWith("$2x$") && !hash.startsWith("{SHA}"))
        expect(problem).toMatch(/supported: bcrypt \(\$2y\$, \$2b\$, \$2a\$; htpasswd -B\) and \{SHA\}/);
      // A refused "hash" may be a password typed in the wrong place: never echo it.
      expect(problem.includes(hash)).toBe(false);
      expect(h.verify(hash, "anything")).toBeNull();
    }
  });
});
