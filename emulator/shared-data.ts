// Envoy's process-wide shared data and shared queues (cpp-host shared_data.cc, shared_queue.cc).
// Pass one instance to several VMs to model worker threads: each has its own VM, all share this.
// Keys live in the namespace of the VM's vm_id. CAS values come from one counter for the whole
// store, as in cpp-host: a key's first set does not yield cas 1, just a value never used before.
import { WasmResult } from "./abi.js";
import { fromUtf8, toUtf8 } from "./memory.js";

export interface SharedValue {
  value: Uint8Array;
  cas: number;
}
interface Queue {
  token: number;
  items: Uint8Array[];
  notify: (token: number) => void;
}

const bytes = (v: Uint8Array | string) => (typeof v === "string" ? toUtf8(v) : v.slice());

export class SharedData {
  private readonly values = new Map<string, SharedValue>();
  private readonly queues = new Map<string, Queue>();
  private readonly queuesByToken = new Map<number, Queue>();
  private nextCas = 1;
  private nextToken = 1;

  get(key: string, vmId = ""): SharedValue | undefined {
    return this.values.get(`${vmId}\0${key}`);
  }
  getString(key: string, vmId = ""): string | undefined {
    const v = this.get(key, vmId);
    return v && fromUtf8(v.value);
  }

  /** cas 0 writes unconditionally; otherwise it must match, unless the key does not exist yet (as in Envoy). */
  set(key: string, value: Uint8Array | string, cas = 0, vmId = ""): WasmResult {
    const current = this.values.get(`${vmId}\0${key}`);
    if (current && cas !== 0 && cas !== current.cas) return WasmResult.CasMismatch;
    this.values.set(`${vmId}\0${key}`, { value: bytes(value), cas: this.nextCas });
    this.nextCas = (this.nextCas + 1) >>> 0 || 1;
    return WasmResult.Ok;
  }

  /** Re-registering a name keeps token and items and moves the notification (cpp-host). */
  registerQueue(vmId: string, name: string, notify: (token: number) => void): number {
    const existing = this.queues.get(`${vmId}\0${name}`);
    if (existing) {
      existing.notify = notify;
      return existing.token;
    }
    const queue: Queue = { token: this.nextToken++, items: [], notify };
    this.queues.set(`${vmId}\0${name}`, queue);
    this.queuesByToken.set(queue.token, queue);
    return queue.token;
  }

  resolveQueue(vmId: string, name: string): number | undefined {
    return this.queues.get(`${vmId}\0${name}`)?.token;
  }

  enqueue(token: number, data: Uint8Array | string): WasmResult {
    const queue = this.queuesByToken.get(token);
    if (!queue) return WasmResult.NotFound;
    queue.items.push(bytes(data));
    queue.notify(token);
    return WasmResult.Ok;
  }

  dequeue(token: number): Uint8Array | WasmResult.NotFound | WasmResult.Empty {
    const queue = this.queuesByToken.get(token);
    return queue ? (queue.items.shift() ?? WasmResult.Empty) : WasmResult.NotFound;
  }
}
