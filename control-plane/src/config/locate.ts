// Places a problem in the text: the path is followed through the YAML syntax tree, and the line
// and column of the node reached are read from the LineCounter. A path that leaves the tree (a
// missing key) stops at the deepest node present: the map that lacks the key.
import { type Document, type LineCounter, type Node, isAlias, isMap, isScalar, isSeq } from "yaml";
import { type ConfigError, type Problem, formatPath } from "./errors.js";

export interface TextPosition {
  line: number;
  column: number;
}

export function positionAt(lineCounter: LineCounter, offset: number): TextPosition {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function resolveAlias(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function keyMatches(key: unknown, segment: PropertyKey): boolean {
  const value = isScalar(key) ? key.value : key;
  return value !== null && value !== undefined && String(value) === String(segment);
}

/** The key/value pair for `segment` in a map, looking into YAML merge keys ("<<: *base") too. */
function findPair(doc: Document, map: unknown, segment: PropertyKey, depth = 0): { key: unknown; value: unknown } | undefined {
  if (!isMap(map) || depth > 10) return undefined;
  const own = map.items.find((pair) => keyMatches(pair.key, segment));
  if (own) return own;
  for (const pair of map.items) {
    if (!keyMatches(pair.key, "<<")) continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const found = findPair(doc, resolveAlias(doc, source), segment, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

function isEmpty(node: unknown): boolean {
  const range = (node as Node | null)?.range;
  return !range || range[0] === range[1];
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0];
}

/** Offset of the node at `path` (or of its deepest existing ancestor). */
export function offsetOf(doc: Document, path: readonly PropertyKey[], at?: "key"): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const [i, segment] of path.entries()) {
    node = resolveAlias(doc, node);
    let next: unknown;
    if (isSeq(node) && typeof segment === "number") {
      next = node.items[segment];
    } else {
      const pair = findPair(doc, node, segment);
      if (pair && at === "key" && i === path.length - 1) return rangeStart(pair.key) ?? offset;
      // `key:` with nothing after it has an empty value node: point at the key instead.
      next = pair && !isEmpty(pair.value) ? pair.value : pair?.key;
    }
    const start = rangeStart(next);
    if (start === undefined) return offset;
    node = next;
    offset = start;
  }
  return offset;
}

export function locate(doc: Document, lineCounter: LineCounter, source: string, problem: Problem): ConfigError {
  const { line, column } = positionAt(lineCounter, offsetOf(doc, problem.path, problem.at));
  return { source, path: formatPath(problem.path), line, column, message: problem.message };
}
