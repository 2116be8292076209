// Guest linear memory. memory.grow (e.g. inside the guest's malloc) detaches the old
// ArrayBuffer, so views are re-derived whenever the buffer changed. Data is handed to the guest
// as proxy-wasm-cpp-host does: the guest's own malloc allocates, the host copies, and pointer and
// size go into two u32 out-parameters (the SDK relies on malloc returning exactly that size).

/** An out-of-bounds pointer; host calls turn it into InvalidMemoryAccess (WASI: EFAULT). */
export class GuestMemoryError extends Error {}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class GuestMemory {
  private u8 = new Uint8Array(0);
  private dv = new DataView(this.u8.buffer);

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly malloc: (size: number) => number,
  ) {}

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** A view (not a copy) of guest memory, valid until the next guest allocation. */
  view(ptr: number, len: number): Uint8Array {
    if (this.u8.buffer !== this.memory.buffer) {
      this.u8 = new Uint8Array(this.memory.buffer);
      this.dv = new DataView(this.memory.buffer);
    }
    [ptr, len] = [ptr >>> 0, len >>> 0];
    if (ptr + len > this.u8.length) throw new GuestMemoryError(`guest range ${ptr}+${len} is out of bounds`);
    return this.u8.subarray(ptr, ptr + len);
  }

  copy(ptr: number, len: number): Uint8Array {
    return this.view(ptr, len).slice();
  }

  /** UTF-8; short ASCII strings (header names, keys) skip TextDecoder, which is slower for them. */
  string(ptr: number, len: number): string {
    const v = this.view(ptr, len);
    if (v.length > 64) return decoder.decode(v);
    let s = "";
    for (const c of v) {
      if (c >= 0x80) return decoder.decode(v);
      s += String.fromCharCode(c);
    }
    return s;
  }

  readU32(ptr: number): number {
    this.view(ptr, 4);
    return this.dv.getUint32(ptr >>> 0, true);
  }
  u32(ptr: number, value: number): void {
    this.view(ptr, 4);
    this.dv.setUint32(ptr >>> 0, value >>> 0, true);
  }
  u64(ptr: number, value: bigint): void {
    this.view(ptr, 8);
    this.dv.setBigUint64(ptr >>> 0, BigInt.asUintN(64, value), true);
  }
  write(ptr: number, data: Uint8Array): void {
    this.view(ptr, data.length).set(data);
  }
  /** Allocates with the guest's malloc (which may grow, and so detach, the memory). */
  alloc(size: number): number {
    return this.malloc(size) >>> 0;
  }

  /** cpp-host's copyToPointerSize; an empty value is returned as (0, 0) without calling malloc. */
  give(data: Uint8Array | string, ptrPtr: number, sizePtr: number): void {
    const bytes = typeof data === "string" ? toUtf8(data) : data;
    const ptr = bytes.length > 0 ? this.alloc(bytes.length) : 0;
    if (ptr) this.write(ptr, bytes);
    this.u32(ptrPtr, ptr);
    this.u32(sizePtr, bytes.length);
  }
}

/** UTF-8 with an ASCII fast path (most header names and values). */
export function toUtf8(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return encoder.encode(s);
    out[i] = c;
  }
  return out;
}

/** Bytes as given; a string as UTF-8; nothing as empty. */
export function toBytes(v: string | Uint8Array | undefined): Uint8Array {
  return v === undefined ? new Uint8Array(0) : typeof v === "string" ? toUtf8(v) : v;
}

export const fromUtf8 = (bytes: Uint8Array): string => decoder.decode(bytes);
