// Test entry for sha256.ts, hmac.ts and hex.ts: bytes in as ArrayBuffers, digests out as hex.
import { Sha256, sha256At, sha256Buffer, sha256Hex, sha256StringHex } from "../../assembly/sha256";
import { HmacSha256, hmacSha256 } from "../../assembly/hmac";
import { toHex } from "../../assembly/hex";

export function hashBytes(data: ArrayBuffer): string {
  return sha256Hex(Uint8Array.wrap(data));
}

export function hashBuffer(data: ArrayBuffer): string {
  return toHex(sha256Buffer(data));
}

export function hashString(s: string): string {
  return sha256StringHex(s);
}

/** Feeds `data` in pieces of `chunk` bytes, to exercise the block buffer across update calls. */
export function hashChunked(data: ArrayBuffer, chunk: i32): string {
  const all = Uint8Array.wrap(data);
  const h = new Sha256();
  const step = max(chunk, 1);
  for (let i = 0; i < all.length; i += step) h.update(all.subarray(i, min(i + step, all.length)));
  return toHex(h.digest());
}

/** Repeats `data` `times` times through one hasher (the one-million-'a' vector without 1 MB). */
export function hashRepeated(data: ArrayBuffer, times: i32): string {
  const h = new Sha256();
  for (let i = 0; i < times; i++) h.updateBuffer(data);
  return toHex(h.digest());
}

export function hmac(key: ArrayBuffer, message: ArrayBuffer): string {
  return toHex(hmacSha256(Uint8Array.wrap(key), Uint8Array.wrap(message)));
}

/** Two MACs from one keyed instance, joined by a space: the midstates must survive reuse. */
export function hmacTwice(key: ArrayBuffer, first: string, second: string): string {
  const m = new HmacSha256(Uint8Array.wrap(key));
  return m.macStringHex(first) + " " + m.macStringHex(second);
}

/** Hashes `data` `times` times over, as the filter hashes each request's token (bench:filter's timing). */
export function hashEach(data: ArrayBuffer, times: i32): string {
  let last = new Uint8Array(0);
  for (let i = 0; i < times; i++) last = sha256At(changetype<usize>(data), data.byteLength);
  return toHex(last);
}
