// Test entry for siphash.ts: key and message in as ArrayBuffers, the 16-byte tag out as hex.
import { sipHash128 } from "../../assembly/siphash";
import { toHex } from "../../assembly/hex";

export function tag(key: ArrayBuffer, message: ArrayBuffer): string {
  const out = new Uint8Array(16);
  const k = changetype<usize>(key);
  sipHash128(load<u64>(k), load<u64>(k, 8), changetype<usize>(message), message.byteLength, out.dataStart);
  return toHex(out);
}
