// Vitest glue: start things inside a test and have them stopped afterwards
// even when the test fails. Kept apart from envoy.ts so that module stays
// usable outside vitest (bench scripts).
import { afterAll, afterEach } from "vitest";
import { startEnvoy, tail, type Envoy, type StartEnvoyOptions } from "./envoy.js";
import { startEchoUpstream, type EchoUpstream, type EchoUpstreamOptions } from "./upstream.js";

type Scope = "each" | "all";

// A suite's own result is not final while its afterAll runs; look at the tests.
type TaskLike = { result?: { state?: string }; tasks?: readonly TaskLike[] };
function anyFailed(task: TaskLike): boolean {
  return task.result?.state === "fail" || (task.tasks ?? []).some(anyFailed);
}

/**
 * Returns a startEnvoy() whose Envoys are stopped after each test (scope
 * "each", default) or after the file ("all"). When a test failed, the Envoy
 * log tail is printed and its temp dir (config + full log) is kept.
 */
export function useEnvoy(scope: Scope = "each"): (opts: StartEnvoyOptions) => Promise<Envoy> {
  const running: Envoy[] = [];
  const cleanup = async (failed: boolean) => {
    const all = running.splice(0);
    for (const e of all) {
      if (failed) {
        console.error(`--- Envoy "${e.name}" log tail (full log: ${e.logFile}) ---\n${tail(e.logs(), 60)}`);
      }
    }
    await Promise.all(all.map((e) => e.stop({ keepDir: failed })));
  };
  if (scope === "each") {
    afterEach(async (ctx) => cleanup(ctx.task.result?.state === "fail"));
  } else {
    // biome-ignore lint/correctness/noEmptyPattern: vitest requires a destructuring first parameter
    afterAll(async ({}, suite) => cleanup(anyFailed(suite as TaskLike)));
  }
  return async (opts) => {
    const e = await startEnvoy(opts);
    running.push(e);
    return e;
  };
}

/** Same as useEnvoy, for echo upstreams. */
export function useEchoUpstream(scope: Scope = "each"): (opts?: EchoUpstreamOptions) => Promise<EchoUpstream> {
  const running: EchoUpstream[] = [];
  const cleanup = async () => {
    await Promise.all(running.splice(0).map((u) => u.close()));
  };
  (scope === "each" ? afterEach : afterAll)(cleanup);
  return async (opts) => {
    const u = await startEchoUpstream(opts);
    running.push(u);
    return u;
  };
}
