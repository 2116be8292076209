// Pure parts of jwt-auth's identity: claim values as filter state holds them, and the lookup of
// the consumer a verified token maps to.
import { ConfigErrors, ObjectReader, parseConfigDocument } from "../../../assembly/config/reader";
import { JsonValue, parseJson } from "../../../assembly/json";
import { JwtConsumers, claimStateValue, isClaimName, readJwtConsumers } from "../identity";

function json(s: string): JsonValue {
  return parseJson(s).value!;
}

function state(name: string, payload: string): string | null {
  const p = json(payload);
  return claimStateValue(name, p.get(name));
}

describe("claims as filter state", () => {
  it("writes a string as one value, an array's strings, and scope's words", () => {
    expect(state("role", '{"role":"admin"}')).toBe(",admin,");
    expect(state("roles", '{"roles":["a","b"]}')).toBe(",a,b,");
    expect(state("scope", '{"scope":"read write  admin"}')).toBe(",read,write,admin,");
    // Only scope is split: another claim's spaces are part of its value.
    expect(state("team", '{"team":"red team"}')).toBe(",red team,");
  });

  it("leaves out what would read as something else: commas, empty values, other types", () => {
    expect(state("role", '{"role":"a,b"}')).toBeNull();
    expect(state("role", '{"role":""}')).toBeNull();
    expect(state("roles", '{"roles":["a,b","c",1,null,{"x":1},""]}')).toBe(",c,");
    expect(state("roles", '{"roles":[]}')).toBeNull();
    expect(state("n", '{"n":3}')).toBeNull();
    expect(state("b", '{"b":true}')).toBeNull();
    expect(state("absent", '{"x":"y"}')).toBeNull();
  });

  it("bounds the values: at most 64, each at most 256 characters", () => {
    let many = "[";
    for (let i = 0; i < 100; i++) many += (i ? "," : "") + '"v' + i.toString() + '"';
    const v = state("roles", '{"roles":' + many + "]}")!;
    expect(v.split(",").length - 2).toBe(64);
    expect(state("role", '{"role":"' + "x".repeat(257) + '"}')).toBeNull();
    expect(state("role", '{"role":"' + "x".repeat(256) + '"}')).not.toBeNull();
  });

  it("claim names: top-level, letters, digits, _ and -", () => {
    expect(isClaimName("client_id")).toBe(true);
    expect(isClaimName("x-Role9")).toBe(true);
    expect(isClaimName("a.b")).toBe(false);
    expect(isClaimName("")).toBe(false);
    expect(isClaimName("x".repeat(65))).toBe(false);
  });
});

function consumers(text: string, errors: ConfigErrors = new ConfigErrors()): JwtConsumers {
  const doc = parseConfigDocument(String.UTF8.encode(text), 1 << 16, errors)!;
  const top = new ObjectReader(doc, "", errors);
  return readJwtConsumers(top, ["https://a", "https://b"]);
}

const c = consumers(
    '{"consumers":[' +
      '{"name":"alice","jwt":[{"issuer":"https://a","subject":"alice"}]},' +
      '{"name":"app","jwt":[{"issuer":"https://a","claim":"client_id","value":"app-1"},{"issuer":"https://b","subject":"alice"}]}' +
      "]}",
);

/** The consumer `payload` from `issuer` maps to, by name ("" for none). */
function who(issuer: string, payload: string): string {
  const found = c.find(issuer, json(payload));
  return found === null ? "" : found.name;
}

describe("the consumer a token maps to", () => {
  it("by issuer and sub, or issuer and a claim's value; the first consumer when several match", () => {
    expect(who("https://a", '{"sub":"alice"}')).toBe("alice");
    expect(who("https://a", '{"sub":"x","client_id":"app-1"}')).toBe("app");
    expect(who("https://b", '{"sub":"alice"}')).toBe("app");
    expect(who("https://a", '{"sub":"alice","client_id":"app-1"}')).toBe("alice");
  });

  it("none for another issuer, another value, or a value that is not a string", () => {
    expect(who("https://c", '{"sub":"alice"}')).toBe("");
    expect(who("https://a", '{"sub":"bob"}')).toBe("");
    expect(who("https://a", '{"client_id":["app-1"]}')).toBe("");
    expect(who("https://b", '{"client_id":"app-1"}')).toBe("");
  });

  it("refuses the same mapping on two consumers and on one twice", () => {
    const errors = new ConfigErrors();
    consumers(
      '{"consumers":[{"name":"a","jwt":[{"issuer":"https://a","subject":"x"},{"issuer":"https://a","subject":"x"}]},' +
        '{"name":"b","jwt":[{"issuer":"https://a","subject":"x"}]}]}',
      errors,
    );
    const text = errors.format("f");
    expect(text.includes("consumers[0].jwt[1]: the same mapping is already given to this consumer")).toBe(true, "consumers[0].jwt[1]: the same mapping is already given to this consumer");
    expect(text.includes('consumers[1].jwt[0]: the same mapping is already given to consumer "a"')).toBe(true, 'consumers[1].jwt[0]: the same mapping is already given to consumer "a"');
  });
});
