// Process-group helpers: func-e runs Envoy as its child, and the supervisor starts func-e as the
// leader of a new process group, so acting on the group reaches Envoy even after func-e is gone.
// Membership is read from /proc (Linux): kill(-pgid, 0) alone also "succeeds" while a member is a
// zombie nobody reaped yet, which would make a dead Envoy look alive.
import { existsSync, readFileSync, readdirSync } from "node:fs";

/** Live (not zombie) pids in process group `pgid`; without /proc, [pgid] while the group answers signals. */
export function livePidsInGroup(pgid: number): number[] {
  if (!existsSync("/proc/self/stat")) return groupAnswers(pgid) ? [pgid] : [];
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] !== "Z" && fields[0] !== "X" && Number(fields[2]) === pgid) pids.push(Number(entry));
  }
  return pids;
}

/** Signals every process of the group; a group that is already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  signalPid(-pgid, signal);
}

/** Signals one process (a negative pid: a whole group); one that is already gone is not an error. */
export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/** Resolves true once no live process is left in the group, false after `timeoutMs`. */
export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (livePidsInGroup(pgid).length > 0) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20)); // /proc has no change notification to wait on
  }
  return true;
}

function groupAnswers(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
