// One listing of a header map per callback, shared by every reader in it.
//
// Each proxy_get_header_map_pairs is a host call (about 1.3 µs in Envoy) plus a copy of the whole
// map; a callback in which several filters read the request headers (the members of a suite:
// jwt-auth, then header-rewrite) or one filter reads them several times listed the map each
// time. Here the first read of a map in a callback lists it, and every later read in the same
// callback on the same context (callback.ts) is answered from that listing: HeaderSnapshot
// lookups, getHeaderBytes, getHeaderValues.
//
// Changes made through the runtime (setHeaderBytes, addHeaderBytes, removeHeaderBytes and their
// kin in headers.ts) still go to Envoy at once, and are applied to the listing (when it is next
// read: a filter that only writes pays nothing for them) the way Envoy
// applies them (pair-edit.ts), so a later reader sees the map as Envoy now has it. A change that
// cannot be mirrored for sure drops the listing instead, and the next read lists the map again:
// a failed host call, a local reply, a resumed stream (Envoy may run the filters after us before
// the call returns, and they may change the map), a name Envoy would lowercase, a value Envoy
// would refuse, an add to a name already present (Envoy appends the value to an "inline" header's
// existing entry, x-forwarded-for or cookie, instead of adding one; which headers are inline
// depends on Envoy's build), and a listing grown past RETAIN_MAX.
//
// A reader may hold a pointer into the listing (HeaderSnapshot.find, .listing) until the map is
// changed: an edit writes the new listing into the other of two buffers and swaps them, so the
// old bytes stay readable only until the change after that.
//
// The listing arrives in the host-result scratch (host-alloc.ts), which the next host call that
// returns data overwrites, so it is copied into a buffer of its own. Each map's two buffers are
// reused by every callback instead of being new objects each time; one grown past RETAIN_MAX for
// an unusually large map is dropped at the next listing, so what a VM keeps stays bounded.
import * as abi from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { OUT_PTR, OUT_SIZE, armOut, endCall, hostResultPtr, hostResultSize, releaseHostResult } from "./host";
import { callbackEpoch, currentContext } from "./callback";
import { PairEdit, editedPairsSize, mirrorableName, mirrorableValue, writeEditedPairs } from "./pair-edit";

/** The largest buffer kept for the next callbacks (a request's headers are usually under 2 KiB). */
export const RETAIN_MAX: i32 = 16 * 1024;
const MIN_BYTES: i32 = 512;
/** Maps by their proxy-wasm number (HeaderMap): request and response headers and trailers, HTTP-call answers. */
const MAP_COUNT: i32 = 8;

export class MapListing {
  /** The listing, `size` bytes, while `loaded` for (`epoch`, `context`) and `available`. */
  private bytes: ArrayBuffer | null = null;
  /** Where the next edit is written. */
  private spare: ArrayBuffer | null = null;
  size: usize = 0;
  private epoch: u64 = 0;
  private context: u32 = 0;
  private loaded: bool = false;
  private available: bool = false;
  /**
   * Changes made since the listing was last brought up to date, applied when it is next read:
   * a filter that only writes after reading (jwt-auth alone: remove the token, set x-user) pays
   * nothing for them, and only a later reader (the next member of a suite) does. Entries: edit,
   * name length, value length (u32 each), then the name's and the value's bytes.
   */
  private log: ArrayBuffer | null = null;
  private logSize: usize = 0;

  constructor(public readonly map: i32) {}

  /** Where the listing is (valid while current()); 0 when there is none. */
  get ptr(): usize {
    return changetype<usize>(this.bytes);
  }

  /** Whether this listing was made in the running callback, for the context host calls act on now. */
  current(): bool {
    const epoch = callbackEpoch();
    return this.loaded && epoch != 0 && this.epoch == epoch && this.context == currentContext();
  }

  /** Lists the map unless the listing is current; false when Envoy has no such map now (it reads as empty). */
  load(): bool {
    if (this.current()) {
      if (this.logSize > 0) this.applyLog();
      // Applying may have dropped it (a change it cannot mirror): then it is listed again.
      if (this.current()) return this.available;
    }
    this.logSize = 0;
    this.loaded = true;
    this.epoch = callbackEpoch();
    this.context = currentContext();
    armOut();
    const ok = abi.proxy_get_header_map_pairs(this.map, OUT_PTR, OUT_SIZE) == 0;
    endCall();
    if (ok) this.keep(hostResultPtr(), hostResultSize());
    // Unpins a result too big for the scratch; nothing when the call failed.
    releaseHostResult();
    this.available = ok;
    return ok;
  }

  /** Forgets the listing: the next read lists the map again. */
  drop(): void {
    this.loaded = false;
    this.logSize = 0;
  }

  /**
   * Envoy answered `ok` to `edit` of the name at `name` (with the value at `value` when it adds):
   * logged, and applied when the listing is read next (the value's bytes are copied: they are
   * usually in a scratch buffer the next write reuses).
   */
  changed(edit: PairEdit, name: usize, nameLen: usize, value: usize, valueLen: usize, ok: bool): void {
    if (!this.current()) return;
    if (!ok || !this.available) {
      this.drop();
      return;
    }
    const kept: usize = edit == PairEdit.Remove ? 0 : valueLen;
    const entry: usize = 12 + nameLen + kept;
    const at = this.logSize;
    if (at + entry > <usize>RETAIN_MAX) {
      this.drop();
      return;
    }
    const log = grownKeeping(this.log, at + entry, at);
    this.log = log;
    const base = changetype<usize>(log) + at;
    store<u32>(base, <u32>edit);
    store<u32>(base + 4, <u32>nameLen);
    store<u32>(base + 8, <u32>kept);
    memory.copy(base + 12, name, nameLen);
    if (kept > 0) memory.copy(base + 12 + nameLen, value, kept);
    this.logSize = at + entry;
  }

  /** Applies the logged changes in order, as Envoy applied them; stops where one cannot be mirrored (it drops the listing). */
  private applyLog(): void {
    const log = changetype<usize>(this.log);
    const end = log + this.logSize;
    this.logSize = 0;
    let at = log;
    while (at < end && this.current()) {
      const edit = <PairEdit>load<u32>(at);
      const nameLen = <usize>load<u32>(at + 4);
      const valueLen = <usize>load<u32>(at + 8);
      this.apply(edit, at + 12, nameLen, at + 12 + nameLen, valueLen);
      at += 12 + nameLen + valueLen;
    }
  }

  /** One change applied to the listing, or the listing dropped when the change cannot be mirrored for sure. */
  private apply(edit: PairEdit, name: usize, nameLen: usize, value: usize, valueLen: usize): void {
    if (!mirrorableName(name, nameLen) || (edit != PairEdit.Remove && !mirrorableValue(value, valueLen))) {
      this.drop();
      return;
    }
    const src = changetype<usize>(this.bytes);
    if (edit != PairEdit.Replace) {
      const present = findName(src, this.size, name, nameLen);
      // Nothing to remove: Envoy's map is as listed.
      if (edit == PairEdit.Remove && !present) return;
      if (edit == PairEdit.Add && present) {
        // An add to a present name may have been a merge into its value (an inline header).
        this.drop();
        return;
      }
    }
    const size = editedPairsSize(src, this.size, edit, name, nameLen, valueLen);
    if (size < 0 || size > <i64>RETAIN_MAX) {
      this.drop();
      return;
    }
    const dst = grown(this.spare, <usize>size);
    // The old listing's buffer takes the next edit, unless it is an oversized one (kept no longer).
    const old = this.bytes;
    this.spare = old !== null && old.byteLength <= RETAIN_MAX ? old : null;
    this.bytes = dst;
    this.size = writeEditedPairs(src, changetype<usize>(dst), edit, name, nameLen, value, valueLen);
  }

  private keep(ptr: usize, size: usize): void {
    const b = grown(this.bytes, size);
    this.bytes = b;
    if (size > 0) memory.copy(changetype<usize>(b), ptr, size);
    this.size = size;
  }
}

/**
 * `b` when it holds `size` bytes and is not an oversized one from an unusually large map, else a
 * new buffer: doubling up to RETAIN_MAX (kept for the next callbacks); past it, the exact size.
 */
function grown(b: ArrayBuffer | null, size: usize): ArrayBuffer {
  if (b !== null && b.byteLength > RETAIN_MAX) b = null;
  if (b !== null && <usize>b.byteLength >= size) return b;
  let cap: usize = b === null ? <usize>MIN_BYTES : <usize>b.byteLength;
  while (cap < size && cap < <usize>RETAIN_MAX) cap <<= 1;
  if (cap < size) cap = size;
  return new ArrayBuffer(<i32>cap);
}

/** grown(), keeping the first `keep` bytes of `b` when it has to make a new buffer. */
function grownKeeping(b: ArrayBuffer | null, size: usize, keep: usize): ArrayBuffer {
  const g = grown(b, size);
  if (b !== null && g !== b && keep > 0) memory.copy(changetype<usize>(g), changetype<usize>(b), keep);
  return g;
}

/** Whether the well-formed listing of `total` bytes at `base` has an entry named by the `len` bytes at `name`. */
function findName(base: usize, total: usize, name: usize, len: usize): bool {
  if (total < 4) return false;
  const count = <usize>load<u32>(base);
  if (count > (total - 4) / 8) return false;
  let data = base + 4 + count * 8;
  const end = base + total;
  for (let i: usize = 0; i < count; i++) {
    const nl = <usize>load<u32>(base + 4 + i * 8);
    const vl = <usize>load<u32>(base + 8 + i * 8);
    if (data + nl + vl + 2 > end) return false;
    if (nl == len && memory.compare(data, name, len) == 0) return true;
    data += nl + vl + 2;
  }
  return false;
}

const listings = new StaticArray<MapListing | null>(MAP_COUNT);

/** The shared listing of `map` (HeaderMap), made on first use. */
export function mapListing(map: i32): MapListing {
  let l = unchecked(listings[map & (MAP_COUNT - 1)]);
  if (l === null) {
    l = new MapListing(map);
    unchecked((listings[map & (MAP_COUNT - 1)] = l));
  }
  return l;
}

/** The listing of `map` as it is now, listing it when this callback has not (null: no such map now). */
export function currentListing(map: i32): MapListing | null {
  const l = mapListing(map);
  return l.load() ? l : null;
}

/** The listing of `map` if this callback already made it (null: it did not, or there is no such map now): never a host call. */
export function listingIfCurrent(map: i32): MapListing | null {
  const l = unchecked(listings[map & (MAP_COUNT - 1)]);
  return l !== null && l.current() && l.load() ? l : null;
}

/** A change of `map` went to Envoy (answered `ok`): the listing follows it, or is dropped. */
export function headerChanged(map: i32, edit: PairEdit, name: usize, nameLen: usize, value: usize, valueLen: usize, ok: bool): void {
  const l = unchecked(listings[map & (MAP_COUNT - 1)]);
  if (l !== null) l.changed(edit, name, nameLen, value, valueLen, ok);
}

/** Something may have changed the maps in a way not mirrored (a local reply, a resumed stream): every listing is dropped. */
export function dropHeaderListings(): void {
  for (let i = 0; i < MAP_COUNT; i++) {
    const l = unchecked(listings[i]);
    if (l !== null) l.drop();
  }
}
