// The plugin modules the control plane serves to Envoys, by content hash. Envoy fetches a module
// when it receives a config naming it (vm_config.code.remote), possibly seconds later and with
// retries, so a module must outlive the config generation that introduced it.
//
// Retention rule: `retain(shas)` is called with the modules referenced by the config that was
// just pushed. The store then keeps exactly the modules of that generation and of the one before
// it; anything older is dropped. An Envoy that received generation N-1 and is still fetching its
// module therefore succeeds while N is pushed, and only gets a 404 (and keeps its previous
// filter, as Envoy does when a remote fetch fails) once N+1 is pushed. Calling retain() with the
// set that is already current does not start a new generation, so re-pushing an unchanged config
// never drops the previous modules early. Modules put() but never retained survive only until the
// next retain() call that does not name them.
import { createHash } from "node:crypto";

export interface StoredModule {
  sha256: string;
  size: number;
}

export class ModuleStore {
  private readonly modules = new Map<string, Uint8Array>();
  private current = new Set<string>();
  private previous = new Set<string>();

  /** Adds a module (idempotent) and returns its lower-case hex sha256, the name it is served under. */
  put(bytes: Uint8Array): StoredModule {
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    // A copy: the caller's buffer may be reused, and what was hashed must be what is served.
    if (!this.modules.has(sha256)) this.modules.set(sha256, new Uint8Array(bytes));
    return { sha256, size: bytes.length };
  }

  get(sha256: string): Uint8Array | undefined {
    return this.modules.get(sha256.toLowerCase());
  }

  has(sha256: string): boolean {
    return this.modules.has(sha256.toLowerCase());
  }

  /** The hashes currently stored, sorted. */
  list(): string[] {
    return [...this.modules.keys()].sort();
  }

  /** Starts a new generation with `shas` (see the retention rule at the top of this file). */
  retain(shas: Iterable<string>): void {
    const next = new Set([...shas].map((s) => s.toLowerCase()));
    if (!sameSet(next, this.current)) {
      this.previous = this.current;
      this.current = next;
    }
    for (const sha of [...this.modules.keys()]) {
      if (!this.current.has(sha) && !this.previous.has(sha)) this.modules.delete(sha);
    }
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
