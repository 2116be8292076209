// The digest table (pure): lookup by the first 8 bytes, then a full compare of every candidate in
// the bucket. Two configured digests sharing their first 8 bytes cannot be made from real keys in a
// test, so they are built here directly: each must find only itself.
import { KeyEntry, KeyTable } from "../keys";
import { ConsumerIdentity } from "../../../assembly/runtime/consumer";

function digest(fill: u8, last: u8): ArrayBuffer {
  const d = new ArrayBuffer(32);
  memory.fill(changetype<usize>(d), fill, 32);
  store<u8>(changetype<usize>(d) + 31, last);
  return d;
}

const owner = new ConsumerIdentity("alice", []);

function entry(id: string, d: ArrayBuffer, consumer: i32 = 0): KeyEntry {
  return new KeyEntry(id, d, consumer, owner, "consumers[0].keys[0]");
}

describe("KeyTable", () => {
  it("finds a digest and nothing for one differing in any byte", () => {
    const t = new KeyTable();
    t.add(entry("a", digest(7, 1)));
    expect(t.find(changetype<usize>(digest(7, 1)))!.id).toBe("a");
    expect(t.find(changetype<usize>(digest(7, 2))) === null).toBe(true);
    const first = digest(7, 1);
    store<u8>(changetype<usize>(first), 8);
    expect(t.find(changetype<usize>(first)) === null).toBe(true);
    const middle = digest(7, 1);
    store<u8>(changetype<usize>(middle) + 16, 0);
    expect(t.find(changetype<usize>(middle)) === null).toBe(true);
  });

  it("keeps digests that share their first 8 bytes apart: each finds only itself", () => {
    const t = new KeyTable();
    t.add(entry("a", digest(9, 1), 0));
    t.add(entry("b", digest(9, 2), 1));
    t.add(entry("c", digest(9, 3), 2));
    expect(t.size).toBe(3);
    expect(t.find(changetype<usize>(digest(9, 1)))!.id).toBe("a");
    expect(t.find(changetype<usize>(digest(9, 2)))!.id).toBe("b");
    expect(t.find(changetype<usize>(digest(9, 3)))!.consumer).toBe(2);
    expect(t.find(changetype<usize>(digest(9, 4))) === null).toBe(true);
  });

  it("encodes the credential id once", () => {
    const e = entry("alice-laptop", digest(1, 1));
    expect(e.credentialText).toBe("key:alice-laptop");
    expect(String.UTF8.decode(e.credential)).toBe("key:alice-laptop");
  });
});
