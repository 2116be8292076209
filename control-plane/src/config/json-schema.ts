// The JSON Schema of the config file, for editors (yaml-language-server, VS Code's JSON support)
// and docs. It describes what users write (zod's "input" side), with defaults and descriptions.
import { z } from "zod";
import { gatewayConfigSchema } from "./schema.js";

export function buildGatewayJsonSchema(): Record<string, unknown> {
  // draft-07: the newest draft that every common editor integration understands fully.
  return z.toJSONSchema(gatewayConfigSchema, { io: "input", target: "draft-07" }) as Record<string, unknown>;
}

export const gatewayJsonSchema: object = buildGatewayJsonSchema();
