// `listeners[].access_log`: Envoy's access log for the listener's HTTP traffic, one line per
// request. JSON by default (a field map of Envoy command operators), or Envoy's text format.
// Off unless the key is there; `access_log: {}` is the JSON default on Envoy's stdout.
import { z } from "zod";
import type { AccessLogModel } from "../model/types.js";
import { ALSO_WITH_OTHER_ISSUES } from "./schema-common.js";

/**
 * The JSON fields logged when none are given (and the base that `fields` adds to): what an
 * operator looks for first in a gateway log. Values are Envoy command operators; a value that is
 * exactly one operator keeps its type in the JSON (a number for status, bytes, duration).
 */
export const DEFAULT_ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  start_time: "%START_TIME%",
  method: "%REQ(:METHOD)%",
  // The path as the client sent it, before any rewrite.
  path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
  protocol: "%PROTOCOL%",
  status: "%RESPONSE_CODE%",
  response_flags: "%RESPONSE_FLAGS%",
  response_code_details: "%RESPONSE_CODE_DETAILS%",
  bytes_received: "%BYTES_RECEIVED%",
  bytes_sent: "%BYTES_SENT%",
  duration_ms: "%DURATION%",
  upstream_host: "%UPSTREAM_HOST%",
  upstream_cluster: "%UPSTREAM_CLUSTER%",
  route_name: "%ROUTE_NAME%",
  x_request_id: "%REQ(X-REQUEST-ID)%",
  user_agent: "%REQ(USER-AGENT)%",
  client_ip: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
  authority: "%REQ(:AUTHORITY)%",
};

export const DEFAULT_ACCESS_LOG_PATH = "/dev/stdout";

// Envoy's own grammar for a command operator: NAME, optional (argument), optional :max_length.
const COMMAND = /^%[A-Z0-9_]+(\([^)]*\))?(:[0-9]+)?%/;

/**
 * The message Envoy would refuse a format string with ("Couldn't find valid command"), or null.
 * Operator names are Envoy's to check: an unknown one is refused by Envoy (a NACK in /status).
 */
export function formatStringError(format: string): string | null {
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== "%") continue;
    if (format[i + 1] === "%") {
      i++; // "%%" is a literal percent sign
      continue;
    }
    const m = COMMAND.exec(format.slice(i));
    if (!m) {
      return `${JSON.stringify(format)}: no command operator at position ${i} (operators are written %NAME%, %NAME(arg)% or %NAME(arg):max%, in capitals; %% is a literal %)`;
    }
    i += m[0].length - 1;
  }
  return null;
}

const formatString = z.string().superRefine((value, ctx) => {
  const message = formatStringError(value);
  if (message !== null) ctx.addIssue({ code: "custom", message, input: value });
});

const accessLogObject = z
  .strictObject({
    path: z
      .string()
      .prefault(DEFAULT_ACCESS_LOG_PATH)
      .superRefine((p, ctx) => {
        // The file is opened by Envoy, on its own host: relative to the config file means nothing there.
        if (!p.startsWith("/"))
          ctx.addIssue({ code: "custom", message: `the access log path is opened by Envoy and must be absolute (got "${p}")`, input: p });
      })
      .meta({ description: `File Envoy appends to, on Envoy's host (absolute). Default ${DEFAULT_ACCESS_LOG_PATH}.`, pattern: "^/" }),
    format: z
      .enum(["json", "text"])
      .prefault("json")
      .meta({ description: "json: one JSON object per line (default); text: Envoy's text format." }),
    fields: z.record(z.string().min(1), formatString.nullable()).optional().meta({
      description:
        'json only: fields added to the default ones, or replacing one of the same name; null drops a default field. Values are Envoy command operators, e.g. "%REQ(X-TENANT)%".',
    }),
    template: formatString
      .optional()
      .meta({ description: "text only: the line, with Envoy command operators; default: Envoy's default format." }),
  })
  .superRefine((a, ctx) => {
    if (a.format !== "json" && a.fields !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["fields"],
        message: "fields is for format: json (a text line is written with template)",
        input: a.fields,
      });
    }
    if (a.format !== "text" && a.template !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["template"],
        message: "template is for format: text (JSON lines are shaped with fields)",
        input: a.template,
      });
    }
    if (a.format === "json" && a.fields && Object.keys(jsonFields(a.fields)).length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["fields"],
        message: "every field is dropped: a JSON access log needs at least one",
        input: a.fields,
      });
    }
  }, ALSO_WITH_OTHER_ISSUES);

/** The JSON fields: the defaults in their order, replaced or dropped as `fields` says, then the added ones. */
function jsonFields(fields: Record<string, string | null> | undefined): Record<string, string> {
  const out: Record<string, string> = { ...DEFAULT_ACCESS_LOG_FIELDS };
  for (const [name, value] of Object.entries(fields ?? {})) {
    if (value === null) delete out[name];
    else out[name] = value;
  }
  return out;
}

// A map, not `true | map`: in a zod union a wrong value inside the map (format: xml) would be
// reported as "expected true or false, or a map" at the key, hiding which value is wrong.
export const accessLogSchema = accessLogObject
  .transform((a): AccessLogModel => {
    if (a.format === "text") return { path: a.path, format: "text", template: a.template ?? null };
    return { path: a.path, format: "json", fields: jsonFields(a.fields) };
  })
  .meta({
    description: `Access log of this listener's requests, one line each; {} gives JSON lines with the default fields on ${DEFAULT_ACCESS_LOG_PATH}. Leave out for none.`,
  });
