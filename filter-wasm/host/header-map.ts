import { decodeUtf8, encodeUtf8 } from "./memory.ts";

export type HeaderPair = readonly [name: string, value: string];
export type HeaderPairs = readonly HeaderPair[];

/** Envoy's LowerCaseString lowercases ASCII only. */
function lowerAscii(name: string): string {
  return name.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/**
 * An HTTP header map with Envoy's HeaderMapImpl semantics: names are lowercased, repeated names
 * are kept in order, pseudo-headers stay ahead of regular ones, lookups see the first value only,
 * replacing removes every value and appends the new one, and the size is the byte size of all
 * names and values.
 */
export class HeaderMap {
  private readonly entries: [string, string][] = [];

  constructor(pairs: HeaderPairs = []) {
    for (const [name, value] of pairs) this.add(name, value);
  }

  get count(): number {
    return this.entries.length;
  }

  get byteSize(): number {
    let size = 0;
    for (const [name, value] of this.entries) size += encodeUtf8(name).length + encodeUtf8(value).length;
    return size;
  }

  get(name: string): string | undefined {
    const key = lowerAscii(name);
    return this.entries.find(([k]) => k === key)?.[1];
  }

  add(name: string, value: string): void {
    const key = lowerAscii(name);
    if (key.startsWith(":")) {
      const firstRegular = this.entries.findIndex(([k]) => !k.startsWith(":"));
      this.entries.splice(firstRegular === -1 ? this.entries.length : firstRegular, 0, [key, value]);
    } else {
      this.entries.push([key, value]);
    }
  }

  remove(name: string): void {
    const key = lowerAscii(name);
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i]![0] === key) this.entries.splice(i, 1);
    }
  }

  replace(name: string, value: string): void {
    this.remove(name);
    this.add(name, value);
  }

  setPairs(pairs: HeaderPairs): void {
    this.entries.length = 0;
    for (const [name, value] of pairs) this.add(name, value);
  }

  pairs(): HeaderPair[] {
    return this.entries.map(([k, v]) => [k, v] as const);
  }
}

/**
 * The ABI's serialized pairs: u32 count, then a u32 name size and u32 value size per pair, then
 * each name and value followed by a NUL byte.
 */
export function encodePairs(pairs: HeaderPairs): Uint8Array {
  const encoded = pairs.map(([k, v]) => [encodeUtf8(k), encodeUtf8(v)] as const);
  let size = 4 + 8 * encoded.length;
  for (const [k, v] of encoded) size += k.length + 1 + v.length + 1;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, encoded.length, true);
  let offset = 4;
  for (const [k, v] of encoded) {
    view.setUint32(offset, k.length, true);
    view.setUint32(offset + 4, v.length, true);
    offset += 8;
  }
  for (const [k, v] of encoded) {
    out.set(k, offset);
    offset += k.length + 1;
    out.set(v, offset);
    offset += v.length + 1;
  }
  return out;
}

/**
 * Like Envoy's toPairs, a buffer too short for its declared count decodes to no pairs. Envoy does
 * not bound-check the names and values themselves (it would read past the buffer); here a name or
 * value that runs past the buffer also makes it decode to no pairs.
 */
export function decodePairs(bytes: Uint8Array): HeaderPair[] {
  if (bytes.length < 4) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  if (4 + count * 8 > bytes.length) return [];
  const sizes: [number, number][] = [];
  for (let i = 0; i < count; i++) sizes.push([view.getUint32(4 + i * 8, true), view.getUint32(8 + i * 8, true)]);
  const pairs: HeaderPair[] = [];
  let offset = 4 + count * 8;
  for (const [keySize, valueSize] of sizes) {
    if (offset + keySize + 1 + valueSize > bytes.length) return [];
    const key = decodeUtf8(bytes.subarray(offset, offset + keySize));
    offset += keySize + 1;
    const value = decodeUtf8(bytes.subarray(offset, offset + valueSize));
    offset += valueSize + 1;
    pairs.push([key, value]);
  }
  return pairs;
}
