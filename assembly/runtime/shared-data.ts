// proxy-wasm shared data (the host's key-value store shared by every VM of a vm_id) on the raw
// ABI. The SDK's get_shared_data / set_shared_data take the key as a string, so each call
// encodes it to UTF-8 again, and a read makes a result object and a fresh buffer for the value.
// Here the caller passes the key as bytes it builds once and reuses (SharedKey), and a read
// copies the value into a SharedValue it owns: no allocation per call.
import * as abi from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { OUT_PTR, OUT_SIZE, OUT_U32, armOut, endCall, hostResultPtr, hostResultSize, releaseHostResult } from "./host";

export const SHARED_OK: u32 = 0;

/**
 * A shared-data key as `prefix` followed by a suffix that changes per call (a slot number, a
 * word), written into one buffer: the prefix is encoded once, the suffix over it in place.
 */
export class SharedKey {
  private readonly buf: ArrayBuffer;
  private readonly prefixLen: i32;
  private len: i32;

  /** `maxSuffix`: the most bytes a suffix may have (longer ones are cut, so size it for every suffix used). */
  constructor(prefix: string, maxSuffix: i32) {
    const p = String.UTF8.encode(prefix);
    const buf = new ArrayBuffer(p.byteLength + maxSuffix);
    memory.copy(changetype<usize>(buf), changetype<usize>(p), <usize>p.byteLength);
    this.buf = buf;
    this.prefixLen = p.byteLength;
    this.len = p.byteLength;
  }

  /** The key becomes prefix + the decimal digits of `n` (what `prefix + n.toString()` encodes to). */
  withNumber(n: u32): SharedKey {
    let digits = 1;
    for (let rest = n; rest >= 10; rest /= 10) digits++;
    const at = changetype<usize>(this.buf) + <usize>this.prefixLen;
    let x = n;
    for (let i = digits - 1; i >= 0; i--) {
      store<u8>(at + <usize>i, <u8>(0x30 + x % 10));
      x /= 10;
    }
    this.len = this.prefixLen + digits;
    return this;
  }

  /** The key becomes prefix + `suffix` (ASCII bytes, encoded once by the caller). */
  withSuffix(suffix: ArrayBuffer): SharedKey {
    const n = min(suffix.byteLength, this.buf.byteLength - this.prefixLen);
    memory.copy(changetype<usize>(this.buf) + <usize>this.prefixLen, changetype<usize>(suffix), <usize>n);
    this.len = this.prefixLen + n;
    return this;
  }

  get ptr(): usize { return changetype<usize>(this.buf); }
  get length(): i32 { return this.len; }
}

/** The outcome of a read: its status, CAS token and (up to `capacity` bytes of) the value, copied. */
export class SharedValue {
  result: u32 = 1;
  cas: u32 = 0;
  /** The value's full size, which may exceed what was kept. */
  size: usize = 0;
  readonly bytes: ArrayBuffer;

  constructor(capacity: i32) {
    this.bytes = new ArrayBuffer(capacity);
  }

  get ok(): bool { return this.result == SHARED_OK; }

  copyFrom(other: SharedValue): void {
    this.result = other.result;
    this.cas = other.cas;
    this.size = other.size;
    memory.copy(changetype<usize>(this.bytes), changetype<usize>(other.bytes), <usize>min(this.bytes.byteLength, other.bytes.byteLength));
  }
}

/** Reads `key` into `out` (one host call; the value goes through the host-result scratch). */
export function getSharedData(key: SharedKey, out: SharedValue): SharedValue {
  armOut();
  store<u32>(OUT_U32, 0);
  const r = abi.proxy_get_shared_data(key.ptr, key.length, OUT_PTR, OUT_SIZE, OUT_U32);
  endCall();
  out.result = r;
  out.cas = 0;
  out.size = 0;
  if (r == SHARED_OK) {
    out.cas = load<u32>(OUT_U32);
    const size = hostResultSize();
    out.size = size;
    const keep = min(size, <usize>out.bytes.byteLength);
    if (keep > 0) memory.copy(changetype<usize>(out.bytes), hostResultPtr(), keep);
  }
  releaseHostResult();
  return out;
}

/** Writes `size` bytes at `value` under `key` if its CAS token is still `cas` (0: unconditionally). */
export function setSharedData(key: SharedKey, value: usize, size: usize, cas: u32): u32 {
  return abi.proxy_set_shared_data(key.ptr, key.length, value, size, cas);
}
