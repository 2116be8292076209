// A header map with the semantics of Envoy's HeaderMapImpl that filters can observe.
// Not modelled: Envoy's "inline" headers (e.g. x-forwarded-for, via), for which addCopy appends
// ",value" to the existing entry; here every add creates a separate entry.
import type { HeaderList } from "./abi.js";

export class HeaderMap {
  private entries: HeaderList = [];

  static from(list: readonly (readonly [string, string])[]): HeaderMap {
    const map = new HeaderMap();
    map.replaceAll(list);
    return map;
  }

  get size(): number {
    return this.entries.length;
  }

  /** HeaderMap::byteSize(), which proxy_get_header_map_size reports: name and value bytes. */
  byteSize(): number {
    return this.entries.reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  }

  /** The first value only, as proxy_get_header_map_value returns. */
  get(name: string): string | undefined {
    const key = name.toLowerCase();
    return this.entries.find((e) => e[0] === key)?.[1];
  }

  /** addCopy: names are lowercased and pseudo-headers stay ahead of regular ones. */
  add(name: string, value: string): void {
    const key = name.toLowerCase();
    const at = key.startsWith(":") ? this.entries.findIndex(([k]) => !k.startsWith(":")) : -1;
    this.entries.splice(at < 0 ? this.entries.length : at, 0, [key, value]);
  }

  /** setCopy: every entry is removed and one appended, so the header moves to the end. */
  set(name: string, value: string): void {
    this.remove(name);
    this.add(name, value);
  }

  remove(name: string): void {
    const key = name.toLowerCase();
    this.entries = this.entries.filter((e) => e[0] !== key);
  }

  replaceAll(list: readonly (readonly [string, string])[]): void {
    this.entries = [];
    for (const [k, v] of list) this.add(k, v);
  }

  toList(): HeaderList {
    return this.entries.map(([k, v]) => [k, v]);
  }
}
