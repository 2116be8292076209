// The abort handler of every module we build (asconfig.json: `--lib assembly/lib` makes this
// file's exports global, `--use abort=portico_abort` routes aborts here). A failed assertion,
// out-of-bounds access or uncaught throw is reported to Envoy's log at critical level through
// proxy_log, then the VM traps. (The SDK's handler writes to WASI stdout instead, and the
// wasi-shim's one exits the process; neither tells an Envoy operator what happened.)
//
// Self-contained on purpose: no imports and no module-level allocations, because the compiler
// may initialise this file from inside another module's start code.

// @ts-ignore: decorator
@external("env", "proxy_log")
declare function proxy_log(level: u32, message: usize, size: usize): u32;

const CRITICAL: u32 = 5;
let aborting = false;

export function portico_abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  // An abort while reporting one (e.g. out of memory, exhausted stack) must not recurse.
  if (aborting) unreachable();
  aborting = true;
  let text = "abort: " + (message !== null ? message : "(no message)");
  if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  const buf = String.UTF8.encode(text);
  proxy_log(CRITICAL, changetype<usize>(buf), <usize>buf.byteLength);
  unreachable();
}
