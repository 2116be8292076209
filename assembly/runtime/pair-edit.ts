// A header-map change applied to a listing of the map (the proxy-wasm pair encoding: u32 count,
// count x (u32 name size, u32 value size), then each name and value NUL-terminated), the way
// Envoy applies it to the map (HeaderMapImpl, as emulator/headers.ts models it):
//  - remove: every entry of the name goes;
//  - add: one entry is appended, a pseudo-header (":path") at the end of the pseudo-headers,
//    which Envoy keeps ahead of the others;
//  - replace: remove, then add (the header moves to the end).
// header-listing.ts keeps a callback's listing equal to the map with these, instead of listing
// the map again after every change. Names are matched as bytes: the caller mirrors only
// lowercase names (Envoy lowercases the name it is given; see mirrorableName).

export enum PairEdit {
  Remove = 0,
  Add = 1,
  Replace = 2,
}

const COLON: u8 = 0x3a;

/** A name Envoy stores as given: not empty, no ASCII capital (Envoy lowercases those), no NUL, CR or LF. */
export function mirrorableName(ptr: usize, len: usize): bool {
  if (len == 0) return false;
  for (let i: usize = 0; i < len; i++) {
    const c = load<u8>(ptr + i);
    if ((c >= 0x41 && c <= 0x5a) || c == 0 || c == 0x0a || c == 0x0d) return false;
  }
  return true;
}

/** A value Envoy stores as given: no NUL, CR or LF (Envoy refuses or rewrites those). */
export function mirrorableValue(ptr: usize, len: usize): bool {
  for (let i: usize = 0; i < len; i++) {
    const c = load<u8>(ptr + i);
    if (c == 0 || c == 0x0a || c == 0x0d) return false;
  }
  return true;
}

/**
 * The size of the `srcLen`-byte listing at `src` after `edit` of the `nameLen`-byte name at
 * `name` (with a `valueLen`-byte value when it adds); -1 when the listing is malformed.
 */
export function editedPairsSize(src: usize, srcLen: usize, edit: PairEdit, name: usize, nameLen: usize, valueLen: usize): i64 {
  if (srcLen < 4) return -1;
  const count = <usize>load<u32>(src);
  if (count > (srcLen - 4) / 8) return -1;
  let data = src + 4 + count * 8;
  const end = src + srcLen;
  let size: usize = srcLen;
  for (let i: usize = 0; i < count; i++) {
    const nl = <usize>load<u32>(src + 4 + i * 8);
    const vl = <usize>load<u32>(src + 8 + i * 8);
    if (nl > end - data || vl + 2 > end - data - nl) return -1;
    if (edit != PairEdit.Add && sameName(data, nl, name, nameLen)) size -= 8 + nl + vl + 2;
    data += nl + vl + 2;
  }
  if (edit != PairEdit.Remove) size += 8 + nameLen + valueLen + 2;
  return <i64>size;
}

/**
 * Writes the listing at `src` after `edit` to `dst` (editedPairsSize bytes, not overlapping
 * `src`, which must be well formed: editedPairsSize did not answer -1); returns the size written.
 */
export function writeEditedPairs(
  src: usize, dst: usize, edit: PairEdit, name: usize, nameLen: usize, value: usize, valueLen: usize,
): usize {
  const count = <usize>load<u32>(src);
  let kept: usize = count;
  let data = src + 4 + count * 8;
  if (edit != PairEdit.Add) {
    for (let i: usize = 0; i < count; i++) {
      const nl = <usize>load<u32>(src + 4 + i * 8);
      if (sameName(data, nl, name, nameLen)) kept--;
      data += nl + <usize>load<u32>(src + 8 + i * 8) + 2;
    }
  }
  const adds = edit != PairEdit.Remove;
  const outCount = kept + (adds ? 1 : 0);
  store<u32>(dst, <u32>outCount);
  // No object for the cursor: an edit allocates nothing.
  let table = dst + 4;
  let out = dst + 4 + outCount * 8;
  // A pseudo-header goes before the first regular header; any other name at the end.
  const pseudo = load<u8>(name) == COLON;
  let pending = adds;
  data = src + 4 + count * 8;
  for (let i: usize = 0; i < count; i++) {
    const nl = <usize>load<u32>(src + 4 + i * 8);
    const vl = <usize>load<u32>(src + 8 + i * 8);
    const entry = data;
    data += nl + vl + 2;
    if (edit != PairEdit.Add && sameName(entry, nl, name, nameLen)) continue;
    if (pending && pseudo && (nl == 0 || load<u8>(entry) != COLON)) {
      out = putEntry(table, out, name, nameLen, value, valueLen);
      table += 8;
      pending = false;
    }
    out = putEntry(table, out, entry, nl, entry + nl + 1, vl);
    table += 8;
  }
  if (pending) out = putEntry(table, out, name, nameLen, value, valueLen);
  return out - dst;
}

/** Writes one entry: its sizes at `table`, its bytes at `data`; returns where the next entry's bytes go. */
function putEntry(table: usize, data: usize, name: usize, nameLen: usize, value: usize, valueLen: usize): usize {
  store<u32>(table, <u32>nameLen);
  store<u32>(table + 4, <u32>valueLen);
  memory.copy(data, name, nameLen);
  store<u8>(data + nameLen, 0);
  data += nameLen + 1;
  memory.copy(data, value, valueLen);
  store<u8>(data + valueLen, 0);
  return data + valueLen + 1;
}

// @ts-ignore: decorator
@inline function sameName(a: usize, aLen: usize, b: usize, bLen: usize): bool {
  return aLen == bLen && memory.compare(a, b, aLen) == 0;
}
