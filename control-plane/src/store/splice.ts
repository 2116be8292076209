// Writing one list item back into the gateway file without touching any other byte: the new text
// is the old one with only that item's source range replaced, inserted or removed. (Re-stringifying
// the whole parsed document would reflow untouched lines: `[limit]` becomes `[ limit ]`, and no
// stringify option keeps every hand-written flow collection, quote and spacing as it was.)
// Returns undefined where it cannot be done by splicing (the list missing or in flow style, an
// item in an unusual position, or a result that would not read back as intended): the caller
// falls back to stringifying the document.
import { isCollection, isSeq, parseDocument, stringify, type Document, type Node } from "yaml";
import { canonicalJson } from "./canonical.js";

export type Splice =
  | { op: "replace"; index: number; value: Record<string, unknown> }
  | { op: "append"; value: Record<string, unknown> }
  | { op: "remove"; index: number };

/**
 * `text` with `splice` applied to the list `key` of `doc` (parsed from `text`); `expected` is what
 * the result must read as (the document with the same change made in memory), checked before the
 * text is returned.
 */
export function spliceListItem(text: string, doc: Document, key: string, splice: Splice, expected: unknown): string | undefined {
  const seq = doc.get(key, true);
  if (!isSeq(seq) || seq.flow || seq.items.length === 0) return undefined;
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  let next: string | undefined;
  if (splice.op === "replace") {
    const node = seq.items[splice.index] as Node | undefined;
    if (!node?.range) return undefined;
    const [start, end] = node.range;
    const flow = isCollection(node) && node.flow === true;
    const keepsEol = !flow && /\n$/.test(text.slice(start, end));
    next = text.slice(0, start) + render(splice.value, column(text, start), flow, keepsEol, eol) + text.slice(end);
  } else if (splice.op === "remove") {
    const node = seq.items[splice.index] as Node | undefined;
    const dash = node?.range ? dashBefore(text, node.range[0]) : undefined;
    if (dash === undefined || !node?.range) return undefined;
    next = text.slice(0, lineStart(text, dash)) + text.slice(lineEnd(text, node.range[1]));
  } else {
    const first = seq.items[0] as Node;
    const last = seq.items[seq.items.length - 1] as Node;
    const dash = first.range ? dashBefore(text, first.range[0]) : undefined;
    if (dash === undefined || !last.range) return undefined;
    const at = lineEnd(text, last.range[1]);
    const col = dash - lineStart(text, dash);
    const before = at > 0 && text[at - 1] !== "\n" ? eol : "";
    next = `${text.slice(0, at)}${before}${" ".repeat(col)}- ${render(splice.value, col + 2, false, true, eol)}${text.slice(at)}`;
  }
  return readsAs(next, expected) ? next : undefined;
}

function readsAs(text: string, expected: unknown): boolean {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return false;
  try {
    return canonicalJson(doc.toJS()) === canonicalJson(expected);
  } catch {
    return false; // an alias whose anchor went with the item
  }
}

/** The item as YAML: block style, lines after the first indented to `col`; or on one line, in flow style. */
function render(value: Record<string, unknown>, col: number, flow: boolean, endWithEol: boolean, eol: string): string {
  if (flow) return stringify(value, { collectionStyle: "flow", lineWidth: 0 }).trimEnd();
  const lines = stringify(value).replace(/\n$/, "").split("\n");
  const body = lines.map((l, i) => (i === 0 || l === "" ? l : " ".repeat(col) + l)).join(eol);
  return endWithEol ? body + eol : body;
}

function lineStart(text: string, at: number): number {
  return text.lastIndexOf("\n", at - 1) + 1;
}

/** The start of the line after the one holding the character before `end` (a range's end). */
function lineEnd(text: string, end: number): number {
  if (end > 0 && text[end - 1] === "\n") return end;
  const nl = text.indexOf("\n", end);
  return nl === -1 ? text.length : nl + 1;
}

function column(text: string, at: number): number {
  return at - lineStart(text, at);
}

/** The position of the `- ` introducing the item starting at `at`, if only spaces precede it on its line. */
function dashBefore(text: string, at: number): number | undefined {
  const head = text.slice(lineStart(text, at), at);
  const m = /^( *)- +$/.exec(head);
  return m ? lineStart(text, at) + m[1]!.length : undefined;
}
