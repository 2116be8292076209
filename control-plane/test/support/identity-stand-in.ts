// A TEST-ONLY stand-in for an auth filter: a tiny proxy-wasm module (WAT, built with binaryen, as
// bench/calibration.ts does) that copies request headers into the filter-state objects an auth
// filter writes (docs/consumers.md): `x-test-consumer` → portico_consumer, `x-test-groups` →
// portico_consumer_groups, `x-test-role` → portico_claim_role. It authenticates nothing: it lets
// the ACL (native RBAC) and the identity-header strip be tested through a real Envoy without the
// key-auth filter. Never use it outside tests.
import { writeFileSync } from "node:fs";
import binaryen from "binaryen";

/** header → Wasm property, with their offsets in linear memory. */
const COPIES = [
  { header: "x-test-consumer", property: "portico_consumer" },
  { header: "x-test-groups", property: "portico_consumer_groups" },
  { header: "x-test-role", property: "portico_claim_role" },
].map((c, i) => ({ ...c, headerAt: 16 + i * 64, propertyAt: 48 + i * 64 }));
const OUT = 512; // the host's answer: pointer, size
const SCRATCH = 4096; // what malloc hands out: one header value at a time, read at once

function moduleText(): string {
  const data = COPIES.map((c) => `  (data (i32.const ${c.headerAt}) "${c.header}")\n  (data (i32.const ${c.propertyAt}) "${c.property}")`);
  const calls = COPIES.map(
    (c) =>
      `(call $copy (i32.const ${c.headerAt}) (i32.const ${c.header.length}) (i32.const ${c.propertyAt}) (i32.const ${c.property.length}))`,
  );
  return `(module
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_property" (func $set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
${data.join("\n")}
  (func (export "malloc") (param $size i32) (result i32) (i32.const ${SCRATCH}))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func $copy (param $h i32) (param $hl i32) (param $p i32) (param $pl i32)
    (if (i32.eqz (call $get (i32.const 0) (local.get $h) (local.get $hl) (i32.const ${OUT}) (i32.const ${OUT + 4})))
      (then (drop (call $set (local.get $p) (local.get $pl) (i32.load (i32.const ${OUT})) (i32.load (i32.const ${OUT + 4})))))))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    ${calls.join("\n    ")}
    (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32))
)`;
}

/** Writes the stand-in module to `file`. */
export function writeIdentityStandIn(file: string): void {
  const m = binaryen.parseText(moduleText());
  try {
    if (!m.validate()) throw new Error("the identity stand-in module does not validate");
    writeFileSync(file, m.emitBinary());
  } finally {
    m.dispose();
  }
}
