// One list item written back by splicing the file's text: only that item's lines change, in the
// style it was written in (block or flow); where splicing cannot be done the caller is told to
// stringify the document instead (undefined).
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { spliceListItem, type Splice } from "../../../src/store/splice.js";

/** Splices `u` in `text`, the expected result being `change` made to the parsed value. */
function splice(text: string, s: Splice, change: (list: Record<string, unknown>[]) => void): string | undefined {
  const js = parseDocument(text).toJS() as { u: Record<string, unknown>[] };
  change(js.u);
  return spliceListItem(text, parseDocument(text), "u", s, js);
}

describe("spliceListItem", () => {
  it("appends after the last item at its indentation, even without a final newline", () => {
    expect(splice("u:\n  - name: a", { op: "append", value: { name: "b" } }, (u) => u.push({ name: "b" }))).toBe(
      "u:\n  - name: a\n  - name: b\n",
    );
    expect(splice("u:\n- name: a\n# end\n", { op: "append", value: { name: "b" } }, (u) => u.push({ name: "b" }))).toBe(
      "u:\n- name: a\n- name: b\n# end\n",
    );
  });

  it("replaces a block item with block lines and a flow item on its one line", () => {
    expect(
      splice(
        "u:\n  - name: a\n  - name: b",
        { op: "replace", index: 1, value: { name: "b", x: [1] } },
        (u) => (u[1] = { name: "b", x: [1] }),
      ),
    ).toBe("u:\n  - name: a\n  - name: b\n    x:\n      - 1");
    expect(
      splice(
        "u:\n- {name: a}  # one\n- name: b\n",
        { op: "replace", index: 0, value: { name: "a", x: 1 } },
        (u) => (u[0] = { name: "a", x: 1 }),
      ),
    ).toBe("u:\n- { name: a, x: 1 }  # one\n- name: b\n");
  });

  it("removes exactly the item's lines", () => {
    expect(splice("u:\n  - name: a\n  - name: b", { op: "remove", index: 1 }, (u) => u.pop())).toBe("u:\n  - name: a\n");
    expect(splice("u:\n- {name: a}\n\n- name: b\n", { op: "remove", index: 0 }, (u) => u.shift())).toBe("u:\n\n- name: b\n");
  });

  it("keeps CRLF line endings in what it writes", () => {
    expect(splice("u:\r\n  - name: a\r\n", { op: "append", value: { name: "b", x: [1] } }, (u) => u.push({ name: "b", x: [1] }))).toBe(
      "u:\r\n  - name: a\r\n  - name: b\r\n    x:\r\n      - 1\r\n",
    );
  });

  it("declines a list in flow style, and a result that would not read back as intended", () => {
    expect(splice("u: [{name: a}]\n", { op: "append", value: { name: "b" } }, (u) => u.push({ name: "b" }))).toBeUndefined();
    // The removed item holds an anchor used elsewhere: the text would not parse.
    expect(splice("u:\n  - name: a\n    t: &t 1s\n  - name: b\n    t: *t\n", { op: "remove", index: 0 }, (u) => u.shift())).toBeUndefined();
  });
});
