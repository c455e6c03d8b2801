import type { ASUtil } from "@assemblyscript/loader";

/**
 * Calls an exported function with byte arguments. Each ArrayBuffer is copied into the module and
 * pinned until the call returns, so allocating the next one cannot let the GC collect it.
 */
export function withBuffers<R>(mod: ASUtil, buffers: Uint8Array[], call: (ptrs: number[]) => R): R {
  const ptrs: number[] = [];
  try {
    for (const b of buffers) ptrs.push(mod.__pin(mod.__newArrayBuffer(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer)));
    return call(ptrs);
  } finally {
    for (const p of ptrs) mod.__unpin(p);
  }
}

/** Same as withBuffers for strings. */
export function withStrings<R>(mod: ASUtil, strings: string[], call: (ptrs: number[]) => R): R {
  const ptrs: number[] = [];
  try {
    for (const s of strings) ptrs.push(mod.__pin(mod.__newString(s)));
    return call(ptrs);
  } finally {
    for (const p of ptrs) mod.__unpin(p);
  }
}

/** Deterministic PRNG (mulberry32): a failing fuzz case can be replayed from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
