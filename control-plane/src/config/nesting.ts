// How deep a gateway file or an admin API body may nest maps and lists within one another, and
// the checks that refuse deeper ones before anything recursive runs on them. The YAML composer,
// toJS, zod, the store's canonical JSON, merge patch and YAML stringify all recurse once per
// level: at a few thousand levels they overflow the stack (a 500 from the admin API, and near the
// stack limit V8 can even abort the process). yaml's lexer and CST parser are iterative (an
// explicit stack), so the text is read with them first and refused at the first place it nests
// too deep; a composed document is measured again through its aliases, which can stack one
// anchored structure inside another (and make a cycle) without the text nesting at all.
import {
  type Document,
  type DocumentOptions,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Composer,
  type CST,
  Lexer,
  type LineCounter,
  type ParseOptions,
  Parser,
  type SchemaOptions,
  YAMLParseError,
} from "yaml";

/** Far beyond any real gateway file (the deepest plugin configs nest about 8 levels). */
export const MAX_NESTING_DEPTH = 64;

export function tooDeepMessage(what: "document" | "body", max = MAX_NESTING_DEPTH): string {
  return `the ${what} nests deeper than ${max} levels (maps and lists within one another)`;
}

/** A place in the text and what is wrong there. */
export interface NestingProblem {
  offset: number;
  message: string;
}

const COLLECTIONS = new Set(["block-map", "block-seq", "flow-collection"]);

/**
 * Reads YAML (or JSON) text with yaml's iterative lexer and parser and returns its CST tokens, or
 * the offset of the first collection nested deeper than `max` (reading stops there).
 */
function boundedTokens(text: string, max: number, onNewLine?: (offset: number) => void): { tokens: CST.Token[] } | { offset: number } {
  const parser = new Parser(onNewLine);
  const tokens: CST.Token[] = [];
  onNewLine?.(0); // as Parser.parse does: line 1 starts at 0
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    let depth = 0;
    for (const open of parser.stack) {
      if (!COLLECTIONS.has(open.type)) continue;
      depth++;
      if (depth > max) return { offset: open.offset };
    }
  }
  for (const token of parser.end()) tokens.push(token);
  return { tokens };
}

/** The offset where `text` (YAML or JSON) first nests deeper than `max` levels; undefined when it does not. */
export function textNestingOffset(text: string, max = MAX_NESTING_DEPTH): number | undefined {
  const read = boundedTokens(text, max);
  return "offset" in read ? read.offset : undefined;
}

/**
 * The same for JSON text, much faster than reading it as YAML: the offset of the first "{" or "["
 * that opens a level past `max` (outside strings); undefined when there is none. It only counts
 * brackets, so it also runs (and stops early) on text that is not valid JSON.
 */
export function jsonNestingOffset(text: string, max = MAX_NESTING_DEPTH): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Skip the string: to the next quote not escaped by a backslash.
      for (i++; i < text.length && text.charCodeAt(i) !== QUOTE; i++) if (text.charCodeAt(i) === BACKSLASH) i++;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return i;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

export type BoundedParse = { ok: true; doc: Document.Parsed } | { ok: false; problem: NestingProblem };

/**
 * parseDocument (one document; a second one is an error, as there) that refuses a document
 * nesting deeper than `max` levels, in its text or through its aliases, or whose aliases make a
 * cycle, before the recursive composer or toJS sees it.
 */
export function parseDocumentBounded(
  text: string,
  options: ParseOptions & DocumentOptions & SchemaOptions & { lineCounter?: LineCounter },
  max = MAX_NESTING_DEPTH,
): BoundedParse {
  const read = boundedTokens(text, max, options.lineCounter?.addNewLine);
  if ("offset" in read) return { ok: false, problem: { offset: read.offset, message: tooDeepMessage("document", max) } };
  let doc: Document.Parsed | undefined;
  for (const next of new Composer(options).compose(read.tokens, true, text.length)) {
    if (!doc) doc = next;
    else {
      doc.errors.push(
        new YAMLParseError(
          [next.range[0], next.range[1]],
          "MULTIPLE_DOCS",
          "Source contains multiple documents; please use YAML.parseAllDocuments()",
        ),
      );
      break;
    }
  }
  // compose(…, true) always ends with a document.
  const parsed = doc as Document.Parsed;
  if (parsed.errors.length > 0) return { ok: true, doc: parsed };
  const problem = aliasNestingProblem(parsed, max);
  return problem ? { ok: false, problem } : { ok: true, doc: parsed };
}

type Node = unknown;

/** The nodes directly inside `node`: a map's keys and values, a sequence's items (a pair in a flow sequence is a one-entry map). */
function children(node: Node): Node[] {
  if (isMap(node) || isSeq(node)) return node.items.flatMap((item) => (isPair(item) ? [item.key, item.value] : [item]));
  if (isPair(node)) return [node.key, node.value];
  return [];
}

function isLevel(node: Node): boolean {
  return isMap(node) || isSeq(node) || isPair(node);
}

function offsetOf(node: Node): number {
  if (isPair(node)) return offsetOf(node.key);
  return (node as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
}

/**
 * How tall the composed document is with every alias standing for its anchored node (computed
 * once per node, iteratively, so neither a deep nor a "billion laughs" document costs more than
 * its size): a problem at the first alias on the tallest path when it is taller than `max`, or at
 * an alias inside the node it names.
 */
function aliasNestingProblem(doc: Document.Parsed, max: number): NestingProblem | undefined {
  const height = new Map<unknown, number>();
  const target = (node: Node): Node => (isAlias(node) ? node.resolve(doc) : node);
  const open = new Set<unknown>();
  const stack: { node: Node; expanded: boolean }[] = [{ node: doc.contents, expanded: false }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const node = target(top.node);
    if (node === null || node === undefined || isScalar(node) || height.has(node)) {
      stack.pop();
      continue;
    }
    if (!top.expanded) {
      top.expanded = true;
      open.add(node);
      for (const child of children(node)) {
        const resolved = target(child);
        if (open.has(resolved)) return { offset: offsetOf(child), message: "an alias refers to a map or list that contains it (a cycle)" };
        stack.push({ node: child, expanded: false });
      }
      continue;
    }
    stack.pop();
    open.delete(node);
    const below = Math.max(0, ...children(node).map((c) => height.get(target(c)) ?? 0));
    height.set(node, below + (isLevel(node) ? 1 : 0));
  }
  if ((height.get(target(doc.contents)) ?? 0) <= max) return undefined;
  // Down the tallest path to the first level past `max`; where an alias took the path elsewhere
  // in the text, the alias is the place to point at.
  let node: Node = doc.contents;
  let level = 0;
  let firstAlias: Node | undefined;
  for (;;) {
    if (isAlias(node)) firstAlias ??= node;
    const here = target(node);
    if (isLevel(here)) level++;
    if (level > max) break;
    const tallest = children(here).reduce<Node | undefined>(
      (best, c) => (best === undefined || (height.get(target(c)) ?? 0) > (height.get(target(best)) ?? 0) ? c : best),
      undefined,
    );
    if (tallest === undefined) break;
    node = tallest;
  }
  return {
    offset: offsetOf(firstAlias ?? node),
    message: `${tooDeepMessage("document", max)}${firstAlias ? ", counting what its aliases stand for" : ""}`,
  };
}
