// The edits a callback's header listing follows (assembly/runtime/pair-edit.ts, used by
// header-listing.ts): after any sequence of removes, adds and replaces, the edited listing is
// what the emulator's model of Envoy's header map (emulator/headers.ts) lists, entry for entry,
// duplicates, empty values and pseudo-headers included.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { deserializePairs, serializePairs } from "../../emulator/abi.js";
import { HeaderMap } from "../../emulator/headers.js";
import { fixtureWasm } from "../support/wasm-fixtures.js";

type Edit = { op: "remove" | "add" | "replace"; name: string; value: string };
const OP_CODE = { remove: 0, add: 1, replace: 2 } as const;

interface Harness {
  arena(size: number): number;
  editedSize(src: number, srcLen: number, edit: number, name: number, nameLen: number, valueLen: number): number;
  writeEdited(src: number, edit: number, name: number, nameLen: number, value: number, valueLen: number, dst: number): number;
  nameMirrorable(name: number, nameLen: number): number;
  valueMirrorable(value: number, valueLen: number): number;
  memory: WebAssembly.Memory;
  _start?: () => void;
}

let x: Harness;

beforeAll(async () => {
  const module = await WebAssembly.compile(readFileSync(fixtureWasm("pair-edit-harness")));
  const instance = await WebAssembly.instantiate(module, { env: { proxy_log: () => 0 } });
  x = instance.exports as unknown as Harness;
  x._start?.();
}, 600_000);

/** Places the inputs in the arena, 8-byte aligned; returns their pointers and the free space after them. */
function place(inputs: Uint8Array[], outLen: number): { ptrs: number[]; out: number } {
  const total = inputs.reduce((n, v) => n + v.length + 8, 0) + outLen;
  let p = x.arena(total);
  const view = new Uint8Array(x.memory.buffer);
  const ptrs: number[] = [];
  for (const v of inputs) {
    view.set(v, p);
    ptrs.push(p);
    p += v.length + 8 - (v.length % 8);
  }
  return { ptrs, out: p };
}

/** The listing after `edit`, as the runtime writes it; null when it calls the listing malformed. */
function edited(listing: Uint8Array, edit: Edit): Uint8Array | null {
  const [name, value] = [Buffer.from(edit.name), Buffer.from(edit.value)];
  const size = (() => {
    const { ptrs } = place([listing, name], 0);
    return x.editedSize(ptrs[0]!, listing.length, OP_CODE[edit.op], ptrs[1]!, name.length, value.length);
  })();
  if (size < 0) return null;
  const { ptrs, out } = place([listing, name, value], size);
  const written = x.writeEdited(ptrs[0]!, OP_CODE[edit.op], ptrs[1]!, name.length, ptrs[2]!, value.length, out);
  expect(written, "writeEdited writes what editedSize announced").toBe(size);
  return new Uint8Array(x.memory.buffer.slice(out, out + written));
}

function applyToModel(map: HeaderMap, e: Edit): void {
  if (e.op === "remove") map.remove(e.name);
  else if (e.op === "add") map.add(e.name, e.value);
  else map.set(e.name, e.value);
}

/** Applies the edits one by one to both, comparing after each. */
function checkAgainstModel(start: [string, string][], edits: Edit[]): void {
  const model = HeaderMap.from(start);
  let listing = serializePairs(model.toList());
  for (const e of edits) {
    applyToModel(model, e);
    const next = edited(listing, e);
    expect(next, `${JSON.stringify(e)} on a well-formed listing`).not.toBeNull();
    listing = next!;
    expect(deserializePairs(listing), `after ${JSON.stringify(e)}`).toEqual(model.toList());
    // Byte for byte what the host would list (NUL terminators, size table), not only what decodes.
    expect(Buffer.from(listing).equals(Buffer.from(serializePairs(model.toList())))).toBe(true);
  }
}

const list = (...entries: [string, string][]) => entries;

describe("header listing edits (pair-edit.ts) follow Envoy's header map as the emulator models it", () => {
  it("replace removes every entry of the name and appends one at the end", () => {
    checkAgainstModel(list([":path", "/"], ["a", "1"], ["x", "2"], ["a", "3"], ["b", "4"]), [{ op: "replace", name: "a", value: "new" }]);
    const after = deserializePairs(
      edited(serializePairs(list(["a", "1"], ["x", "2"], ["a", "3"])), { op: "replace", name: "a", value: "v" })!,
    );
    expect(after).toEqual([
      ["x", "2"],
      ["a", "v"],
    ]);
  });

  it("add appends another entry, also when the name is present", () => {
    const after = deserializePairs(edited(serializePairs(list(["a", "1"], ["b", "2"])), { op: "add", name: "a", value: "again" })!);
    expect(after).toEqual([
      ["a", "1"],
      ["b", "2"],
      ["a", "again"],
    ]);
  });

  it("remove takes every entry of the name; an absent name changes nothing", () => {
    const start = serializePairs(list(["a", "1"], ["b", ""], ["a", "2"]));
    expect(deserializePairs(edited(start, { op: "remove", name: "a", value: "" })!)).toEqual([["b", ""]]);
    expect(Buffer.from(edited(start, { op: "remove", name: "zz", value: "" })!).equals(Buffer.from(start))).toBe(true);
  });

  it("keeps empty values and names a prefix of another apart", () => {
    checkAgainstModel(list(["ab", ""], ["a", ""], ["abc", "x"]), [
      { op: "remove", name: "a", value: "" },
      { op: "replace", name: "ab", value: "" },
      { op: "add", name: "a", value: "" },
    ]);
  });

  it("puts a pseudo-header after the other pseudo-headers, ahead of the regular ones", () => {
    const after = deserializePairs(
      edited(serializePairs(list([":method", "GET"], [":path", "/a"], ["host", "h"])), { op: "replace", name: ":path", value: "/b" })!,
    );
    expect(after).toEqual([
      [":method", "GET"],
      [":path", "/b"],
      ["host", "h"],
    ]);
    checkAgainstModel(
      [],
      [
        { op: "add", name: ":path", value: "/" },
        { op: "add", name: "x", value: "1" },
        { op: "add", name: ":a", value: "2" },
      ],
    );
  });

  it("edits an empty map and empties one", () => {
    checkAgainstModel(
      [],
      [
        { op: "remove", name: "a", value: "" },
        { op: "add", name: "a", value: "1" },
        { op: "remove", name: "a", value: "" },
      ],
    );
  });

  it("any sequence of edits on any map: the same entries in the same order as the model (property)", () => {
    // Few names, so that duplicates, prefixes and pseudo-headers meet often.
    const name = fc.constantFrom(":path", ":method", ":authority", "a", "ab", "authorization", "x-jwt-sub", "cookie", "x-forwarded-for");
    const value = fc.oneof(
      fc.constant(""),
      fc.string({ maxLength: 12 }).map((s) => s.replace(/[\0\r\n]/g, "")),
      fc.constant("é✓"),
    );
    const entry = fc.tuple(name, value);
    const edit = fc.record({ op: fc.constantFrom("remove", "add", "replace"), name, value }) as fc.Arbitrary<Edit>;
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 12 }), fc.array(edit, { maxLength: 10 }), (start, edits) => {
        checkAgainstModel(start as [string, string][], edits);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a malformed listing instead of reading past it", () => {
    const good = serializePairs(list(["a", "1"], ["b", "2"]));
    for (const bad of [good.subarray(0, 3), good.subarray(0, good.length - 1), new Uint8Array([9, 0, 0, 0, 1, 0, 0, 0])]) {
      expect(edited(bad, { op: "replace", name: "a", value: "x" })).toBeNull();
    }
  });

  it("mirrors only names and values Envoy stores as given", () => {
    const ok = (fn: (p: number, n: number) => number, s: string) => {
      const b = Buffer.from(s);
      const { ptrs } = place([b], 0);
      return fn(ptrs[0]!, b.length) !== 0;
    };
    expect(ok(x.nameMirrorable, "x-jwt-sub")).toBe(true);
    expect(ok(x.nameMirrorable, ":path")).toBe(true);
    expect(ok(x.nameMirrorable, "X-Jwt-Sub")).toBe(false); // Envoy lowercases it
    expect(ok(x.nameMirrorable, "")).toBe(false);
    expect(ok(x.valueMirrorable, "")).toBe(true);
    expect(ok(x.valueMirrorable, 'a b;c="d"')).toBe(true);
    expect(ok(x.valueMirrorable, "a\r\nb")).toBe(false);
    expect(ok(x.valueMirrorable, "a\0b")).toBe(false);
  });
});
