import { beforeAll, describe, expect, it } from "vitest";
import type { ASUtil } from "@assemblyscript/loader";
import { loadEntry } from "./asc.ts";
import { rng, withBuffers } from "./wasm-values.ts";

type Exports = { tag(key: number, message: number): number };

let mod: ASUtil & Exports;
beforeAll(async () => {
  mod = await loadEntry<Exports>("filter-wasm/test/entries/siphash.ts");
});

const tag = (key: Uint8Array, message: Uint8Array) => withBuffers(mod, [key, message], ([k, m]) => mod.__getString(mod.tag(k!, m!)));
const counting = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);
const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));

// vectors_sip128 of the SipHash reference implementation (vectors.h): SipHash-2-4 with a 128-bit
// tag, key 00 01 … 0f, message 00 01 … (n-1), for the lengths n that cover every tail length, the
// first whole blocks, and the longest vector.
const REFERENCE: [length: number, tag: string][] = [
  [0, "a3817f04ba25a8e66df67214c7550293"],
  [1, "da87c1d86b99af44347659119b22fc45"],
  [2, "8177228da4a45dc7fca38bdef60affe4"],
  [3, "9c70b60c5267a94e5f33b6b02985ed51"],
  [4, "f88164c12d9c8faf7d0f6e7c7bcd5579"],
  [5, "1368875980776f8854527a07690e9627"],
  [6, "14eeca338b208613485ea0308fd7a15e"],
  [7, "a1f1ebbed8dbc153c0b84aa61ff08239"],
  [8, "3b62a9ba6258f5610f83e264f31497b4"],
  [9, "264499060ad9baabc47f8b02bb6d71ed"],
  [15, "5493e99933b0a8117e08ec0f97cfc3d9"],
  [16, "6ee2a4ca67b054bbfd3315bf85230577"],
  [17, "473d06e8738db89854c066c47ae47740"],
  [32, "7c3956ca5eeafc3e363e9d556546eb68"],
  [63, "5150d1772f50834a503e069a973fbd7c"],
];

describe("SipHash-2-4-128", () => {
  it("gives the reference implementation's tags", () => {
    for (const [n, want] of REFERENCE) expect(tag(counting(16), counting(n)), `length ${n}`).toBe(want);
  });

  it("gives Wycheproof's tag for the empty message under another key", () => {
    expect(tag(hex("e34f15c7bd819930fe9d66e0c166e61c"), new Uint8Array(0))).toBe("b3d2df1f8506643dc8f803a3ceb67f85");
  });

  it("changes with every bit of the message and of the key, on Keycloak-sized tokens", () => {
    const next = rng(11);
    const key = Uint8Array.from({ length: 16 }, () => Math.floor(next() * 256));
    const token = Uint8Array.from({ length: 1226 }, () => 0x41 + Math.floor(next() * 26));
    const base = tag(key, token);
    const seen = new Set([base]);
    for (let i = 0; i < 200; i++) {
      const flipped = token.slice();
      flipped[i * 6] = flipped[i * 6]! ^ (1 << (i % 8));
      seen.add(tag(key, flipped));
    }
    for (let bit = 0; bit < 128; bit++) {
      const otherKey = key.slice();
      otherKey[bit >> 3] = otherKey[bit >> 3]! ^ (1 << (bit & 7));
      seen.add(tag(otherKey, token));
    }
    expect(seen.size).toBe(1 + 200 + 128);
    // A token one byte longer or shorter is another message.
    expect(tag(key, token.subarray(0, 1225))).not.toBe(base);
  });
});
