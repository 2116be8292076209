// The OpenAPI 3.1 document of the admin API, served at GET /openapi.json. Written by hand from
// the same facts as the handlers (a unit test holds the two together): per kind the collection,
// item and item-schema paths, then the whole-config, validation and read-only endpoints.
import { title } from "../config/collections.js";
import { gatewayJsonSchema } from "../config/index.js";
import { MAX_NESTING_DEPTH } from "../config/nesting.js";
import { NAME_PATTERN } from "../config/syntax.js";
import { KINDS, type Kind } from "../store/types.js";
import { itemSchema, JSON_SCHEMA_DRAFT_07 } from "./schema.js";

export interface OpenApiOptions {
  /** A bearer token is configured: declare the scheme and require it everywhere but /healthz. */
  bearer: boolean;
}

type Obj = Record<string, unknown>;

const JSON_TYPE = "application/json";
const YAML_TYPE = "application/yaml";

const ref = (kind: "schemas" | "parameters" | "responses", name: string): Obj => ({ $ref: `#/components/${kind}/${name}` });
const jsonContent = (schema: Obj): Obj => ({ [JSON_TYPE]: { schema } });
const reply = (description: string, schema?: Obj, headers?: Obj): Obj => ({
  description,
  ...(schema ? { content: jsonContent(schema) } : {}),
  ...(headers ? { headers } : {}),
});
const ETAG_HEADER = {
  ETag: {
    description: "Strong ETag of the content; send it back in If-Match to write only over what you read.",
    schema: { type: "string" },
  },
};

/** What a kind's tag adds to the general rules. */
const KIND_NOTES: Partial<Record<Kind, string>> = {
  consumers:
    " Credentials are write-only (the writeOnly members): a GET shows an API key by its id and a basic-auth user by its username, never " +
    "the key, its key_sha256 or the password_hash. An entry written back with only its id (or username) keeps the secret stored under it, " +
    "so GET, edit, PUT loses nothing; a plain key is stored as its SHA-256. DELETE is refused while an ACL or an auth filter's anonymous names the consumer.",
};

export function buildOpenApiDocument(o: OpenApiOptions): Obj {
  const paths: Obj = {};
  for (const kind of KINDS) Object.assign(paths, kindPaths(kind));
  Object.assign(paths, configPaths(), readOnlyPaths(o));
  return {
    openapi: "3.1.0",
    info: {
      title: "Portico admin API",
      version: "1",
      description:
        "Reads and edits the gateway file (the document of record) one resource or the whole file at a time. " +
        "Every write is validated exactly as a saved file is, written atomically, then pushed to Envoys. " +
        'Secrets are never returned: they read as "[redacted]", and writing "[redacted]" back keeps the stored value.',
    },
    tags: [
      ...KINDS.map((k) => ({ name: k, description: `The gateway's ${k} (gateway-config.md, \`${k}\`).${KIND_NOTES[k] ?? ""}` })),
      { name: "config", description: "The whole gateway file, validation and schemas." },
      { name: "control-plane", description: "Read-only state of the control plane." },
    ],
    paths,
    components: components(o),
    ...(o.bearer ? { security: [{ bearer: [] }] } : {}),
  };
}

function kindPaths(kind: Kind): Obj {
  const one = title(kind);
  const item = ref("schemas", one);
  const tags = [kind];
  const writeResponses = (extra: Obj): Obj => ({
    ...extra,
    "400": ref("responses", "Invalid"),
    "401": ref("responses", "Unauthorized"),
    "412": ref("responses", "PreconditionFailed"),
    "413": ref("responses", "PayloadTooLarge"),
    "415": ref("responses", "UnsupportedMediaType"),
  });
  return {
    [`/${kind}`]: {
      get: {
        operationId: `list${one}s`,
        tags,
        summary: `List ${kind}`,
        responses: {
          "200": reply(`Every ${one.toLowerCase()}, in file order.`, {
            type: "object",
            required: ["items", "total"],
            properties: { items: { type: "array", items: item }, total: { type: "integer" } },
          }),
          "401": ref("responses", "Unauthorized"),
          "409": ref("responses", "StoredConfigUnreadable"),
        },
      },
      post: {
        operationId: `create${one}`,
        tags,
        summary: `Create a ${one.toLowerCase()} named in the body (fails if it exists)`,
        parameters: [ref("parameters", "DryRun")],
        requestBody: { required: true, content: jsonContent(item) },
        responses: writeResponses({
          "201": reply("Created.", item, {
            ...ETAG_HEADER,
            Location: { description: "The new resource's path.", schema: { type: "string" } },
          }),
          "200": ref("responses", "DryRun"),
          "409": ref("responses", "Conflict"),
        }),
      },
    },
    [`/${kind}/{name}`]: {
      parameters: [ref("parameters", "Name")],
      get: {
        operationId: `get${one}`,
        tags,
        summary: `Get a ${one.toLowerCase()}`,
        parameters: [
          {
            name: "If-None-Match",
            in: "header",
            required: false,
            schema: { type: "string" },
            description: "304 when the ETag still matches.",
          },
        ],
        responses: {
          "200": reply(`The ${one.toLowerCase()}, secrets redacted.`, item, ETAG_HEADER),
          "304": { description: "Not modified (If-None-Match matched).", headers: ETAG_HEADER },
          "401": ref("responses", "Unauthorized"),
          "404": ref("responses", "NotFound"),
          "409": ref("responses", "StoredConfigUnreadable"),
        },
      },
      put: {
        operationId: `put${one}`,
        tags,
        summary: `Create or replace a ${one.toLowerCase()} by name`,
        parameters: [ref("parameters", "DryRun"), ref("parameters", "IfMatch"), ref("parameters", "IfNoneMatch")],
        requestBody: { required: true, content: jsonContent(item) },
        responses: writeResponses({
          "200": reply(
            "Replaced (or unchanged); with dry_run=true, a DryRunResult instead.",
            { oneOf: [item, ref("schemas", "DryRunResult")] },
            ETAG_HEADER,
          ),
          "201": reply("Created.", item, {
            ...ETAG_HEADER,
            Location: { description: "The new resource's path.", schema: { type: "string" } },
          }),
        }),
      },
      patch: {
        operationId: `patch${one}`,
        tags,
        summary: `Change part of a ${one.toLowerCase()} (JSON merge patch, RFC 7386: null removes a key)`,
        parameters: [ref("parameters", "DryRun"), ref("parameters", "IfMatch")],
        requestBody: {
          required: true,
          content: { "application/merge-patch+json": { schema: { type: "object" } }, [JSON_TYPE]: { schema: { type: "object" } } },
        },
        responses: writeResponses({
          "200": reply(
            "Changed (or unchanged); with dry_run=true, a DryRunResult instead.",
            { oneOf: [item, ref("schemas", "DryRunResult")] },
            ETAG_HEADER,
          ),
          "404": ref("responses", "NotFound"),
        }),
      },
      delete: {
        operationId: `delete${one}`,
        tags,
        summary: `Delete a ${one.toLowerCase()} (refused while anything refers to it)`,
        parameters: [ref("parameters", "DryRun"), ref("parameters", "IfMatch")],
        responses: {
          "204": { description: "Deleted." },
          "200": ref("responses", "DryRun"),
          "400": ref("responses", "Invalid"),
          "401": ref("responses", "Unauthorized"),
          "404": ref("responses", "NotFound"),
          "409": ref("responses", "Conflict"),
          "412": ref("responses", "PreconditionFailed"),
        },
      },
    },
    [`/schema/${kind}`]: {
      get: {
        operationId: `get${one}Schema`,
        tags: ["config"],
        summary: `JSON Schema (draft-07) of one ${one.toLowerCase()}`,
        responses: { "200": reply("The schema.", { type: "object" }), "401": ref("responses", "Unauthorized") },
      },
    },
  };
}

function configPaths(): Obj {
  const tags = ["config"];
  const configBody = {
    required: true,
    content: { [YAML_TYPE]: { schema: ref("schemas", "GatewayConfig") }, [JSON_TYPE]: { schema: ref("schemas", "GatewayConfig") } },
  };
  return {
    "/config": {
      get: {
        operationId: "getConfig",
        tags,
        summary: "The whole gateway file: YAML as stored (comments kept) unless Accept prefers JSON; secrets redacted",
        responses: {
          "200": {
            description: "The file.",
            headers: ETAG_HEADER,
            content: { [YAML_TYPE]: { schema: { type: "string" } }, [JSON_TYPE]: { schema: ref("schemas", "GatewayConfig") } },
          },
          "304": { description: "Not modified (If-None-Match matched).", headers: ETAG_HEADER },
          "401": ref("responses", "Unauthorized"),
          "409": ref("responses", "StoredConfigUnreadable"),
        },
      },
      put: {
        operationId: "putConfig",
        tags,
        summary: "Replace the whole file (YAML or JSON); the same content again changes nothing and pushes nothing",
        parameters: [ref("parameters", "DryRun"), ref("parameters", "IfMatch")],
        requestBody: configBody,
        responses: {
          "200": reply(
            "Applied, or unchanged; with dry_run=true, a DryRunResult instead.",
            {
              oneOf: [
                { type: "object", required: ["unchanged"], properties: { unchanged: { type: "boolean" } } },
                ref("schemas", "DryRunResult"),
              ],
            },
            ETAG_HEADER,
          ),
          "400": ref("responses", "Invalid"),
          "401": ref("responses", "Unauthorized"),
          "412": ref("responses", "PreconditionFailed"),
          "413": ref("responses", "PayloadTooLarge"),
          "415": ref("responses", "UnsupportedMediaType"),
        },
      },
    },
    "/validate": {
      post: {
        operationId: "validateConfig",
        tags,
        summary: "Validate a whole file (YAML or JSON) as `portico validate` does; changes nothing",
        requestBody: configBody,
        responses: {
          "200": reply("The verdict.", ref("schemas", "ValidationResult")),
          "401": ref("responses", "Unauthorized"),
          "413": ref("responses", "PayloadTooLarge"),
          "415": ref("responses", "UnsupportedMediaType"),
        },
      },
    },
    "/schema": {
      get: {
        operationId: "getSchema",
        tags,
        summary: "JSON Schema (draft-07) of the gateway file",
        responses: { "200": reply("The schema.", { type: "object" }), "401": ref("responses", "Unauthorized") },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "getOpenApi",
        tags,
        summary: "This document",
        responses: { "200": reply("OpenAPI 3.1.", { type: "object" }), "401": ref("responses", "Unauthorized") },
      },
    },
  };
}

function readOnlyPaths(o: OpenApiOptions): Obj {
  const tags = ["control-plane"];
  const unauthorized = { "401": ref("responses", "Unauthorized") };
  return {
    "/healthz": {
      get: {
        operationId: "getHealth",
        tags,
        summary: "Liveness (never needs the token)",
        ...(o.bearer ? { security: [] } : {}),
        responses: { "200": reply("Alive.", { type: "object", properties: { ok: { const: true } } }) },
      },
    },
    "/status": {
      get: {
        operationId: "getStatus",
        tags,
        summary: "The config in force, the last attempt, and every Envoy's sync state",
        responses: { "200": reply("Status.", { type: "object" }), ...unauthorized },
      },
    },
    "/metrics": {
      get: {
        operationId: "getMetrics",
        tags,
        summary: "Prometheus metrics of the control plane",
        responses: {
          "200": { description: "Prometheus text format.", content: { "text/plain": { schema: { type: "string" } } } },
          ...unauthorized,
        },
      },
    },
    "/modules/{file}": {
      get: {
        operationId: "getModule",
        tags,
        summary: "A plugin module in force, by content hash",
        parameters: [
          {
            name: "file",
            in: "path",
            required: true,
            schema: { type: "string", pattern: "^[0-9a-f]{64}\\.wasm$" },
            description: "<sha256>.wasm",
          },
        ],
        responses: {
          "200": {
            description: "The module.",
            content: { "application/wasm": { schema: { type: "string", contentMediaType: "application/wasm" } } },
          },
          "404": { description: "No module with that hash." },
          ...unauthorized,
        },
      },
    },
  };
}

function components(o: OpenApiOptions): Obj {
  const located = {
    type: "object",
    required: ["path", "line", "column", "message"],
    properties: {
      path: { type: "string", description: 'Where in the file, e.g. routes[2].upstream ("" for the file itself).' },
      line: { type: "integer", description: "1-based; 0 when the error has no place in the text." },
      column: { type: "integer" },
      message: { type: "string" },
    },
  };
  const errorResponse = (description: string): Obj => reply(description, ref("schemas", "Error"));
  const schemas: Obj = {
    GatewayConfig: { ...(gatewayJsonSchema as Obj), $schema: JSON_SCHEMA_DRAFT_07 },
    Error: {
      type: "object",
      required: ["error", "message", "errors"],
      properties: {
        error: {
          type: "string",
          description: `A stable code: invalid, invalid_json, too_deep (the body nests maps and lists deeper than ${MAX_NESTING_DEPTH} levels), bad_request, not_found, conflict, precondition_failed, unauthorized, payload_too_large, unsupported_media_type, method_not_allowed, internal.`,
        },
        message: { type: "string" },
        errors: { type: "array", items: ref("schemas", "LocatedError") },
      },
    },
    LocatedError: located,
    ResourceDiff: {
      type: "object",
      description: "Per Envoy resource type, the names a change would add, remove and change.",
      additionalProperties: {
        type: "object",
        properties: {
          added: { type: "array", items: { type: "string" } },
          removed: { type: "array", items: { type: "string" } },
          changed: { type: "array", items: { type: "string" } },
        },
      },
    },
    DryRunResult: {
      type: "object",
      required: ["dry_run", "valid", "diff", "errors"],
      properties: {
        dry_run: { const: true },
        valid: { type: "boolean" },
        diff: ref("schemas", "ResourceDiff"),
        errors: { type: "array", items: ref("schemas", "LocatedError") },
        message: { type: "string" },
      },
    },
    ValidationResult: {
      type: "object",
      required: ["valid", "errors"],
      properties: { valid: { type: "boolean" }, errors: { type: "array", items: ref("schemas", "LocatedError") } },
    },
  };
  for (const kind of KINDS) schemas[title(kind)] = itemSchema(kind) ?? { type: "object" };
  return {
    schemas,
    parameters: {
      Name: { name: "name", in: "path", required: true, schema: { type: "string", pattern: NAME_PATTERN } },
      DryRun: {
        name: "dry_run",
        in: "query",
        required: false,
        schema: { type: "boolean" },
        description: "Validate and show the Envoy resources the change would touch; change nothing.",
      },
      IfMatch: {
        name: "If-Match",
        in: "header",
        required: false,
        schema: { type: "string" },
        description: 'Write only if the current ETag is one of these ("*": if it exists); 412 otherwise.',
      },
      IfNoneMatch: {
        name: "If-None-Match",
        in: "header",
        required: false,
        schema: { type: "string" },
        description: '"*": create only; 412 if it exists.',
      },
    },
    responses: {
      DryRun: reply(
        "Dry run (dry_run=true): whether the change validates and what it would change. Nothing was written.",
        ref("schemas", "DryRunResult"),
      ),
      Invalid: errorResponse(
        `The change does not validate (errors located in the resulting file) or the body is unusable (not JSON, nesting deeper than ${MAX_NESTING_DEPTH} levels).`,
      ),
      Unauthorized: { ...errorResponse("Missing or wrong bearer token."), headers: { "WWW-Authenticate": { schema: { type: "string" } } } },
      NotFound: errorResponse("No such resource."),
      Conflict: errorResponse("Still referenced (DELETE), or already exists (POST)."),
      StoredConfigUnreadable: errorResponse(
        "The gateway file does not parse (a hand edit: a syntax error, or nesting too deep); errors located in it. Fix it, or replace it with PUT /config.",
      ),
      PreconditionFailed: errorResponse("If-Match / If-None-Match did not hold: someone changed it since you read it."),
      PayloadTooLarge: errorResponse("The body is over the size limit."),
      UnsupportedMediaType: errorResponse("Unsupported Content-Type."),
    },
    ...(o.bearer
      ? {
          securitySchemes: {
            bearer: { type: "http", scheme: "bearer", description: "The admin API token the control plane was started with." },
          },
        }
      : {}),
  };
}
