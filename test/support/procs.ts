// Process-group bookkeeping for Linux. func-e runs Envoy as its child, so we
// start func-e as the leader of a new process group and act on the group:
// that reaches Envoy even if func-e has already exited.
import { readFileSync, readdirSync } from "node:fs";

/** Live (non-zombie) pids whose process group is `pgid`. Reads /proc: a bare
 * kill(-pgid, 0) also "succeeds" for zombies, and PID 1 in our containers does
 * not always reap promptly, which would make a dead Envoy look alive. */
export function livePidsInGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while we were looking
    }
    // Format: pid (comm) state ppid pgrp ...; comm may contain spaces/parens.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] !== "Z" && fields[0] !== "X" && Number(fields[2]) === pgid) pids.push(Number(entry));
  }
  return pids;
}

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

/** Signals a whole process group; a group that is already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/** Resolves true once no live process remains in the group, false on timeout. */
export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (livePidsInGroup(pgid).length === 0) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20)); // polling /proc: no event to wait on
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
