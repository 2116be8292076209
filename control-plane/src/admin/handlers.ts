// The admin API's endpoints, as a route table over the ConfigStore. Handlers translate HTTP
// (content types, conditional headers, dry runs) into store calls and the store's results into
// statuses; validation, references and secrets are the store's business.
import { boundMessage } from "../config/errors.js";
import { gatewayJsonSchema } from "../config/index.js";
import type { ConfigStore } from "../store/config-store.js";
import {
  KINDS,
  singular,
  StoredConfigUnreadable,
  type Kind,
  type StoreError,
  type WriteOptions,
  type WriteResult,
} from "../store/types.js";
import { parseJsonBody, readBodyText, refuseDeepNesting } from "./body.js";
import { ApiError, etagMatches, located, mediaType, preferredType, sendEmpty, sendJson, sendText } from "./http.js";
import type { RequestContext, Route } from "./router.js";
import { itemSchema } from "./schema.js";

/** What the admin API needs of a ConfigStore (a ConfigStore is one; tests pass a fake). */
export type AdminStore = Pick<ConfigStore, "list" | "get" | "put" | "patch" | "delete" | "getConfig" | "replaceConfig" | "validate">;

export interface HandlerContext {
  store: AdminStore;
  maxBodyBytes: number;
  openapi: object;
}

const JSON_TYPE = "application/json";
const MERGE_PATCH_TYPE = "application/merge-patch+json";
const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];
const YAML_RESPONSE = "application/yaml; charset=utf-8";

const STORE_STATUS: Record<StoreError["code"], number> = {
  invalid: 400,
  bad_request: 400,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
};

/** Every route the admin server answers (and the control plane's read-only ones, handled by its fallback). */
export function adminRoutes(ctx: HandlerContext): Route[] {
  const routes: Route[] = [];
  for (const kind of KINDS) {
    routes.push(
      { method: "GET", template: `/${kind}`, handle: (c) => listResources(ctx, kind, c) },
      { method: "POST", template: `/${kind}`, handle: (c) => createResource(ctx, kind, c) },
      { method: "GET", template: `/${kind}/{name}`, handle: (c) => getResource(ctx, kind, c) },
      { method: "PUT", template: `/${kind}/{name}`, handle: (c) => putResource(ctx, kind, c) },
      { method: "PATCH", template: `/${kind}/{name}`, handle: (c) => patchResource(ctx, kind, c) },
      { method: "DELETE", template: `/${kind}/{name}`, handle: (c) => deleteResource(ctx, kind, c) },
      { method: "GET", template: `/schema/${kind}`, handle: (c) => getItemSchema(kind, c) },
    );
  }
  routes.push(
    { method: "GET", template: "/config", handle: (c) => getConfig(ctx, c) },
    { method: "PUT", template: "/config", handle: (c) => putConfig(ctx, c) },
    { method: "POST", template: "/validate", handle: (c) => validateConfig(ctx, c) },
    { method: "GET", template: "/schema", handle: async (c) => sendJson(c.res, 200, gatewayJsonSchema) },
    { method: "GET", template: "/openapi.json", handle: async (c) => sendJson(c.res, 200, ctx.openapi) },
    { method: "GET", template: "/healthz", handle: async (c) => sendJson(c.res, 200, { ok: true }) },
    { method: "GET", template: "/status" },
    { method: "GET", template: "/metrics" },
    { method: "GET", template: "/modules/{file}" },
  );
  return routes;
}

// ---- resources ------------------------------------------------------------------------------

/** A read of the store; 409 with the located errors when the stored file does not parse. */
async function readStore<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (e) {
    if (e instanceof StoredConfigUnreadable) throw new ApiError(409, "conflict", e.message, located(e.errors));
    throw e;
  }
}

async function listResources(ctx: HandlerContext, kind: Kind, c: RequestContext): Promise<void> {
  const items = (await readStore(ctx.store.list(kind))).map((r) => ({ name: r.name, ...r.value }));
  sendJson(c.res, 200, { items, total: items.length });
}

async function getResource(ctx: HandlerContext, kind: Kind, c: RequestContext): Promise<void> {
  const name = c.params.name!;
  const found = await readStore(ctx.store.get(kind, name));
  if (!found) throw new ApiError(404, "not_found", `no ${singular(kind)} named "${name}"`);
  if (etagMatches(c.req.headers["if-none-match"], found.etag)) return sendEmpty(c.res, 304, { etag: found.etag });
  sendJson(c.res, 200, { name: found.name, ...found.value }, { etag: found.etag });
}

/** POST /{kind}: create-only, with the name in the body (as Kong and APISIX users expect). */
async function createResource(ctx: HandlerContext, kind: Kind, c: RequestContext): Promise<void> {
  const body = await readJson(ctx, c, [JSON_TYPE]);
  const name = (body as { name?: unknown } | null)?.name;
  if (typeof name !== "string" || name === "") {
    throw new ApiError(400, "bad_request", `the body must be a JSON object with a "name" (or PUT /${kind}/{name})`);
  }
  const o = { ...writeOptions(c), ifMatch: undefined, ifNoneMatch: "*" };
  const result = await ctx.store.put(kind, name, body, o);
  if (!result.ok && result.error.code === "precondition_failed") {
    throw new ApiError(409, "conflict", `${singular(kind)} "${name}" already exists (PUT /${kind}/${name} replaces it)`);
  }
  respondResourceWrite(kind, name, result, o, c);
}

async function putResource(ctx: HandlerContext, kind: Kind, c: RequestContext): Promise<void> {
  const body = await readJson(ctx, c, [JSON_TYPE]);
  const o = writeOptions(c);
  respondResourceWrite(kind, c.params.name!, await ctx.store.put(kind, c.params.name!, body, o), o, c);
}

async function patchResource(ctx: HandlerContext, kind: Kind, c: RequestContext): Promise<void> {
  const patch = await readJson(ctx, c, [MERGE_PATCH_TYPE, JSON_TYPE]);
  const o = writeOptions(c);
  respondResourceWrite(kind, c.params.name!, await ctx.store.patch(kind, c.params.name!, patch, o), o, c);
}

async function deleteResource(ctx: HandlerContext, kind: Kind, c: RequestContext): Promise<void> {
  const o = writeOptions(c);
  const result = await ctx.store.delete(kind, c.params.name!, o);
  if (o.dryRun) return respondDryRun(result, c);
  if (!result.ok) throw storeError(result.error);
  sendEmpty(c.res, 204);
}

function respondResourceWrite(kind: Kind, name: string, result: WriteResult, o: WriteOptions, c: RequestContext): void {
  if (o.dryRun) {
    respondDryRun(result, c);
    return;
  }
  if (!result.ok) throw storeError(result.error);
  // put and patch return the resource written (redacted) with every success.
  const body = result.resource ? { name: result.resource.name, ...result.resource.value } : { name };
  if (result.created) {
    sendJson(c.res, 201, body, { etag: result.etag, location: `/${kind}/${encodeURIComponent(name)}` });
  } else {
    sendJson(c.res, 200, body, { etag: result.etag });
  }
}

// ---- the whole config -----------------------------------------------------------------------

async function getConfig(ctx: HandlerContext, c: RequestContext): Promise<void> {
  const type = preferredType(c.req.headers.accept, ["application/yaml", "text/yaml", JSON_TYPE]);
  const format = type === JSON_TYPE ? "json" : "yaml";
  const { text, etag } = await readStore(ctx.store.getConfig(format));
  const vary = { vary: "accept" };
  if (etagMatches(c.req.headers["if-none-match"], etag)) return sendEmpty(c.res, 304, { etag, ...vary });
  sendText(c.res, 200, format === "json" ? "application/json; charset=utf-8" : YAML_RESPONSE, text, { etag, ...vary });
}

async function putConfig(ctx: HandlerContext, c: RequestContext): Promise<void> {
  const text = await readConfigText(ctx, c);
  const o = writeOptions(c);
  const result = await ctx.store.replaceConfig(text, o);
  if (o.dryRun) return respondDryRun(result, c);
  if (!result.ok) throw storeError(result.error);
  sendJson(c.res, 200, { unchanged: result.unchanged }, { etag: result.etag });
}

async function validateConfig(ctx: HandlerContext, c: RequestContext): Promise<void> {
  let text: string;
  try {
    text = await readConfigText(ctx, c);
  } catch (e) {
    // A JSON syntax error (or a body nesting too deep) is an answer to "is this valid?", not a failed request.
    if (e instanceof ApiError && (e.code === "invalid_json" || e.code === "too_deep"))
      return sendJson(c.res, 200, { valid: false, errors: e.errors });
    throw e;
  }
  const { valid, errors } = await ctx.store.validate(text);
  sendJson(c.res, 200, { valid, errors: located(errors) });
}

// ---- schemas --------------------------------------------------------------------------------

async function getItemSchema(kind: Kind, c: RequestContext): Promise<void> {
  const schema = itemSchema(kind);
  if (!schema) throw new ApiError(404, "not_found", `the gateway schema has no item schema for ${kind}`);
  sendJson(c.res, 200, schema);
}

// ---- helpers --------------------------------------------------------------------------------

/** `?dry_run=true` and the conditional headers, as the store takes them. */
function writeOptions(c: RequestContext): WriteOptions {
  const raw = c.query.get("dry_run");
  let dryRun = false;
  if (raw !== null) {
    if (raw === "true" || raw === "1" || raw === "") dryRun = true;
    else if (raw !== "false" && raw !== "0") throw new ApiError(400, "bad_request", "dry_run must be true or false");
  }
  const header = (name: string) => {
    const v = c.req.headers[name];
    return Array.isArray(v) ? v.join(", ") : v;
  };
  return { ifMatch: header("if-match"), ifNoneMatch: header("if-none-match"), dryRun };
}

/** A dry run answers 200 whether or not the change validates; other refusals keep their status. */
function respondDryRun(result: WriteResult, c: RequestContext): void {
  if (result.ok) {
    sendJson(c.res, 200, { dry_run: true, valid: true, diff: result.diff ?? {}, errors: [] });
    return;
  }
  if (result.error.code !== "invalid") throw storeError(result.error);
  const message = boundMessage(result.error.message);
  sendJson(c.res, 200, { dry_run: true, valid: false, diff: {}, errors: located(result.error.errors), message });
}

function storeError(e: StoreError): ApiError {
  return new ApiError(STORE_STATUS[e.code], e.code, e.message, located(e.errors));
}

/** A JSON body of one of `types` (no Content-Type at all is taken as JSON). */
async function readJson(ctx: HandlerContext, c: RequestContext, types: string[]): Promise<unknown> {
  const type = mediaType(c.req.headers["content-type"]) ?? JSON_TYPE;
  if (!types.includes(type)) throw unsupported(types);
  return parseJsonBody(await readBodyText(c.req, ctx.maxBodyBytes));
}

/** A whole config, YAML or JSON (JSON syntax checked here, so its errors are located as JSON's; nesting depth checked for both). */
async function readConfigText(ctx: HandlerContext, c: RequestContext): Promise<string> {
  const type = mediaType(c.req.headers["content-type"]) ?? YAML_TYPES[0]!;
  const accepted = [...YAML_TYPES, JSON_TYPE];
  if (!accepted.includes(type)) throw unsupported(accepted);
  const text = await readBodyText(c.req, ctx.maxBodyBytes);
  if (type === JSON_TYPE) parseJsonBody(text);
  else refuseDeepNesting(text, "yaml");
  return text;
}

function unsupported(types: string[]): ApiError {
  return new ApiError(415, "unsupported_media_type", `send the body as ${types.join(" or ")}`);
}
