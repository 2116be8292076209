// The JSON Schema of the config file, for editors (yaml-language-server, VS Code's JSON support)
// and docs. It describes what users write (zod's "input" side), with defaults and descriptions.
import { z } from "zod";
import { gatewayConfigSchema } from "./schema.js";

// draft-07: the newest draft that every common editor integration understands fully.
export const gatewayJsonSchema: object = z.toJSONSchema(gatewayConfigSchema, { io: "input", target: "draft-07" });
