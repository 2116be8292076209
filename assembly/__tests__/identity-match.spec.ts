// The caller's identity in the shared request matcher (`consumers`, `consumer_groups`) and in
// templates (${consumer.name}, ${consumer.groups}, ${consumer.credential}), against a fake
// source standing in for the filter state an auth filter wrote.
import { ConfigErrors, ObjectReader, parseConfigDocument } from "../config/reader";
import { readRequestMatch } from "../config/match";
import { RequestMatch } from "../match";
import { groupsStateHeader } from "../runtime/consumer";
import { parseTemplate, Template, TemplateSource, TemplateVar, VarKind } from "../template";

/** An identity as filter state holds it; name null: no auth filter identified the caller. */
class Identity implements TemplateSource {
  reads: i32 = 0;
  constructor(public name: string | null, public groups: string, public credential: string) {}

  resolve(v: TemplateVar): string | null {
    if (this.name === null) return null;
    this.reads++;
    switch (v.kind) {
      case VarKind.ConsumerName: return this.name;
      case VarKind.ConsumerGroupsState: return this.groups;
      case VarKind.ConsumerGroups: return groupsStateHeader(this.groups);
      case VarKind.ConsumerCredential: return this.credential;
      default: return null;
    }
  }
}

function match(json: string, errors: ConfigErrors = new ConfigErrors()): RequestMatch {
  const doc = parseConfigDocument(String.UTF8.encode(json), 1 << 16, errors)!;
  return readRequestMatch(new ObjectReader(doc, "rules[0]", errors));
}

function errorsOf(json: string): string {
  const errors = new ConfigErrors();
  match(json, errors);
  return errors.format("f");
}

const ALICE = new Identity("alice", ",gold,beta,", "key:alice-laptop");
const BOB = new Identity("bob", ",", "basic:bob");
const NOBODY = new Identity(null, "", "");

describe("consumer conditions", () => {
  it("match any of the listed groups, exactly", () => {
    const m = match('{"match":{"consumer_groups":["gold","silver"]}}');
    expect(m.matches(ALICE)).toBe(true);
    expect(m.matches(new Identity("g", ",golden,", ""))).toBe(false);
    expect(m.matches(new Identity("s", ",free,silver,", ""))).toBe(true);
    expect(m.matches(BOB)).toBe(false);
    expect(m.matches(NOBODY)).toBe(false);
  });

  it("match any of the listed consumers; both conditions must hold", () => {
    expect(match('{"match":{"consumers":["bob","carol"]}}').matches(BOB)).toBe(true);
    expect(match('{"match":{"consumers":["bob","carol"]}}').matches(ALICE)).toBe(false);
    expect(match('{"match":{"consumers":["bob"]}}').matches(NOBODY)).toBe(false);
    expect(match('{"match":{"consumers":["alice"],"consumer_groups":["free"]}}').matches(ALICE)).toBe(false);
    expect(match('{"match":{"consumers":["alice"],"consumer_groups":["beta"]}}').matches(ALICE)).toBe(true);
  });

  it("do not read the identity when a rule has no identity condition", () => {
    const src = new Identity("alice", ",gold,", "");
    expect(match('{"match":{}}').matches(src)).toBe(true);
    expect(src.reads).toBe(0);
  });

  it("refuse names no consumer or group can have, naming the field", () => {
    expect(errorsOf('{"match":{"consumer_groups":["Gold"]}}').includes('rules[0].match.consumer_groups[0]: invalid group name "Gold"')).toBe(true, 'rules[0].match.consumer_groups[0]: invalid group name "Gold"');
    expect(errorsOf('{"match":{"consumers":["ok","a,b"]}}').includes('rules[0].match.consumers[1]: invalid consumer name "a,b"')).toBe(true, 'rules[0].match.consumers[1]: invalid consumer name "a,b"');
    expect(errorsOf('{"match":{"consumers":[]}}').includes("rules[0].match.consumers: must not be empty")).toBe(true, "rules[0].match.consumers: must not be empty");
    expect(errorsOf('{"match":{"consumer_groups":[1]}}').includes("rules[0].match.consumer_groups[0]: must be a string")).toBe(true, "rules[0].match.consumer_groups[0]: must be a string");
    const long = errorsOf('{"match":{"consumers":["' + "a".repeat(5000) + '"]}}');
    expect(long.includes("rules[0].match.consumers[0]: is longer than 64 characters")).toBe(true, "a long name is not echoed");
    expect(long.length < 200).toBe(true, "the error line stays short");
  });
});

function render(text: string, src: TemplateSource): string {
  const p = parseTemplate(text);
  expect(p.error).toBe("");
  return (p.template as Template).render(src);
}

describe("consumer templates", () => {
  it("render the name, the groups in header form and the credential", () => {
    expect(render("${consumer.name}|${consumer.groups}|${consumer.credential}", ALICE)).toBe("alice|gold,beta|key:alice-laptop");
    expect(render("[${consumer.groups}]", BOB)).toBe("[]");
  });

  it("render empty for an unidentified caller", () => {
    expect(render("u=${consumer.name};g=${consumer.groups}", NOBODY)).toBe("u=;g=");
  });

  it("know no other consumer variable", () => {
    expect(parseTemplate("${consumer.tier}").error.includes("unknown variable ${consumer.tier}")).toBe(true, "unknown variable ${consumer.tier}");
  });

  it("groups in header form: the commas around are dropped, none is empty", () => {
    expect(groupsStateHeader(",gold,beta,")).toBe("gold,beta");
    expect(groupsStateHeader(",a,")).toBe("a");
    expect(groupsStateHeader(",")).toBe("");
    expect(groupsStateHeader("")).toBe("");
  });
});
