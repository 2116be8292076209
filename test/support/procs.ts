// Process-group bookkeeping for Linux. func-e runs Envoy as its child, so we
// start func-e as the leader of a new process group and act on the group:
// that reaches Envoy even if func-e has already exited.
import { readFileSync } from "node:fs";
// One implementation of group lookup and signalling, shared with `portico run`'s supervisor.
import { livePidsInGroup, signalGroup, waitGroupGone } from "../../control-plane/src/envoy/process-group.js";

export { livePidsInGroup, signalGroup, waitGroupGone };

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

// Last line of defence: if the test process exits (crash, Ctrl-C, a forgotten
// stop()), kill every group we started so no Envoy outlives the run.
const ownedGroups = new Set<number>();
let exitHookInstalled = false;

export function trackGroup(pgid: number): void {
  ownedGroups.add(pgid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const g of ownedGroups) signalGroup(g, "SIGKILL");
    });
  }
}

export function untrackGroup(pgid: number): void {
  ownedGroups.delete(pgid);
}
