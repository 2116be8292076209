// The shared consumers block of auth filter configs and the identity's filter-state encoding.
import { ConfigErrors, ObjectReader, parseConfigDocument } from "../config/reader";
import { ConsumersBlock, isConsumerName, readConsumersBlock } from "../config/consumers";
import { ConsumerIdentity, groupsStateHas, groupsStateValue } from "../runtime/consumer";

let keysSeen: i32 = 0;

function read(json: string, errors: ConfigErrors): ConsumersBlock {
  const doc = parseConfigDocument(String.UTF8.encode(json), 1 << 20, errors)!;
  const top = new ObjectReader(doc, "", errors);
  keysSeen = 0;
  const block = readConsumersBlock(top, (c: ObjectReader, _id: ConsumerIdentity, _i: i32): void => {
    const keys = c.array("keys");
    if (keys !== null) keysSeen += keys.length;
  }, "keys", ["basic", "jwt"]);
  top.finish();
  return block;
}

describe("consumers block", () => {
  it("reads names, groups, the anonymous consumer and the filter's own credentials", () => {
    const errors = new ConfigErrors();
    const b = read('{"consumers":[{"name":"alice","groups":["gold","beta","gold"],"keys":[{"id":"a"}],"basic":[]},{"name":"guest"}],"anonymous":"guest"}', errors);
    expect(errors.messages.join("; ")).toBe("");
    expect(b.consumers.length).toBe(2);
    expect(b.consumers[0].groupsHeader).toBe("gold,beta");
    expect(b.anonymous).toBe(1);
    expect(b.upstreamHeaders).toBe(true);
    expect(keysSeen).toBe(1);
  });

  it("names the field of every mistake", () => {
    const errors = new ConfigErrors();
    read('{"consumers":[{"name":"Alice","groups":["a,b"]},{"name":"bob","oops":1},{"name":"bob"}],"anonymous":"nobody"}', errors);
    const all = errors.messages.join("\n");
    expect(all.includes("consumers[0].name: invalid consumer name \"Alice\"")).toBe(true, "consumers[0].name: invalid consumer name \"Alice\"");
    expect(all.includes("consumers[0].groups[0]: invalid group name \"a,b\"")).toBe(true, "consumers[0].groups[0]: invalid group name \"a,b\"");
    expect(all.includes("consumers[1].oops: unknown field")).toBe(true, "consumers[1].oops: unknown field");
    expect(all.includes("consumers[2].name: consumer \"bob\" is listed twice")).toBe(true, "consumers[2].name: consumer \"bob\" is listed twice");
    expect(all.includes("anonymous: no consumer named \"nobody\"")).toBe(true, "anonymous: no consumer named \"nobody\"");
  });

  it("applies the gateway's name rule", () => {
    expect(isConsumerName("a")).toBe(true);
    expect(isConsumerName("gold_tier-2")).toBe(true);
    expect(isConsumerName("-a")).toBe(false);
    expect(isConsumerName("")).toBe(false);
    expect(isConsumerName("a b")).toBe(false);
  });
});

describe("groups in filter state", () => {
  it("is delimited so that a group never matches a longer name", () => {
    const s = groupsStateValue(["gold", "beta"]);
    expect(s).toBe(",gold,beta,");
    expect(groupsStateHas(s, "gold")).toBe(true);
    expect(groupsStateHas(s, "gol")).toBe(false);
    expect(groupsStateHas(groupsStateValue([]), "gold")).toBe(false);
    expect(groupsStateValue([])).toBe(",");
  });
});
