// Request bodies: read up to a size limit (413 beyond it, without buffering the rest), decoded as
// UTF-8, and parsed as JSON with located errors that never quote the body back (it may hold
// secrets).
import type { IncomingMessage } from "node:http";
import { jsonNestingOffset, textNestingOffset, tooDeepMessage } from "../config/nesting.js";
import { ApiError, charset } from "./http.js";
import { jsonErrorOffset } from "./json-error.js";

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** The whole body as text; ApiError 413 past `maxBytes`, 400 when it is not UTF-8. */
export async function readBodyText(req: IncomingMessage, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new ApiError(413, "payload_too_large", `the body is larger than the limit of ${maxBytes} bytes`, [], { connection: "close" });
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const cs = charset(req);
  if (cs !== undefined && cs !== "utf-8" && cs !== "utf8") {
    throw new ApiError(415, "unsupported_media_type", `charset ${cs} is not supported; send UTF-8`);
  }
  const bytes = await collect(req, maxBytes).catch((e: unknown) => {
    throw e === TOO_LARGE ? tooLarge() : e;
  });
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ApiError(400, "bad_request", "the body is not valid UTF-8");
  }
}

const TOO_LARGE = Symbol("too large");

/**
 * The body's bytes, rejecting with TOO_LARGE once more than `maxBytes` arrived. The rest is then
 * read and dropped rather than the socket destroyed, so the client still gets the 413 response
 * (sent with Connection: close) instead of a reset.
 */
function collect(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      req.off("data", onData);
      req.resume();
      reject(TOO_LARGE);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

/**
 * ApiError 400 (too_deep) when the body nests maps and lists deeper than MAX_NESTING_DEPTH,
 * located at the first level too many. Checked before anything parses the body into a tree:
 * what handles the tree afterwards (the store, the loader) recurses once per level.
 */
export function refuseDeepNesting(text: string, syntax: "json" | "yaml"): void {
  const offset = syntax === "json" ? jsonNestingOffset(text) : textNestingOffset(text);
  if (offset === undefined) return;
  const message = tooDeepMessage("body");
  throw new ApiError(400, "too_deep", message, [{ path: "", ...lineColumn(text, offset), message }]);
}

/**
 * JSON.parse with the error located by line and column rather than JSON.parse's message, which may
 * quote the input; a body nesting too deep is refused first (see refuseDeepNesting).
 */
export function parseJsonBody(text: string): unknown {
  refuseDeepNesting(text, "json");
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON.parse's message: it may quote the body.
    const offset = jsonErrorOffset(text);
    const { line, column } = offset === undefined ? { line: 0, column: 0 } : lineColumn(text, offset);
    const message =
      text.trim() === ""
        ? "the body is empty"
        : offset !== undefined && offset >= text.length
          ? "the JSON ends too early"
          : "not valid JSON here";
    throw new ApiError(400, "invalid_json", "the body is not valid JSON", [{ path: "", line, column, message }]);
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}
