// Regenerates control-plane/schema/gateway.schema.json from the config loader's zod schema.
// Run: npx tsx scripts/gen-schema.ts   (a unit test fails while the committed file is stale)
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gatewayJsonSchema } from "../control-plane/src/config/json-schema.js";

const target = fileURLToPath(new URL("../control-plane/schema/gateway.schema.json", import.meta.url));
writeFileSync(target, `${JSON.stringify(gatewayJsonSchema, null, 2)}\n`);
console.log(`wrote ${target}`);
