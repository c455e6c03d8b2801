/**
 * SHA-256 of the token: the shared cache's key, paid on a token's first request in each worker
 * (repeats are recognised by the memo's SipHash tag). Timed in this process's V8 (Envoy runs the
 * same engine) with the filter's own SHA-256, hashing the token's bytes in place as the filter does.
 */
import { loadEntry } from "../../filter-wasm/test/asc.ts";

/** Microseconds per SHA-256 of `token`, averaged over `times` hashes after a warm-up. */
export async function sha256Cost(token: string, times = 100_000): Promise<number> {
  const mod = await loadEntry<{ hashEach(data: number, times: number): number }>("filter-wasm/test/entries/sha256.ts", ["-O3"]);
  const bytes = new TextEncoder().encode(token);
  const ptr = mod.__pin(mod.__newArrayBuffer(bytes.buffer as ArrayBuffer));
  try {
    mod.hashEach(ptr, Math.min(times, 20_000));
    const started = process.hrtime.bigint();
    mod.hashEach(ptr, times);
    return Number(process.hrtime.bigint() - started) / 1000 / times;
  } finally {
    mod.__unpin(ptr);
  }
}
