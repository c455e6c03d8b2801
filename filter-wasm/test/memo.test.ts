import { beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import type { ASUtil } from "@assemblyscript/loader";
import { loadEntry } from "./asc.ts";
import { withBuffers } from "./wasm-values.ts";

type Exports = {
  reset(size: number): void;
  remember(hash: number, insertedAt: bigint, expiresAt: bigint, subject: number): void;
  find(hash: number, insertedAt: bigint, expiresAt: bigint): number;
};

let mod: ASUtil & Exports;
beforeAll(async () => {
  mod = await loadEntry<Exports>("filter-wasm/test/entries/memo.ts");
});

const hashOf = (token: string) => new Uint8Array(createHash("sha256").update(token).digest());
const remember = (hash: Uint8Array, insertedAt: number, expiresAt: number, subject: string) =>
  withBuffers(mod, [hash], ([h]) => {
    const s = mod.__pin(mod.__newString(subject));
    try {
      mod.remember(h!, BigInt(insertedAt), BigInt(expiresAt), s);
    } finally {
      mod.__unpin(s);
    }
  });
const find = (hash: Uint8Array, insertedAt: number, expiresAt: number) =>
  withBuffers(mod, [hash], ([h]) => mod.__getString(mod.find(h!, BigInt(insertedAt), BigInt(expiresAt))));

describe("the worker's identity memo", () => {
  it("answers only for the exact shared-cache entry it was made from", () => {
    mod.reset(64);
    const a = hashOf("token-a");
    remember(a, 1000, 61_000, "alice");
    expect(find(a, 1000, 61_000)).toBe("alice");
    // The same token stored again (a new introspection) is a different entry: decode it afresh.
    expect(find(a, 2000, 61_000)).toBe("");
    expect(find(a, 1000, 62_000)).toBe("");
    expect(find(hashOf("token-b"), 1000, 61_000)).toBe("");
    // One differing byte of the hash, anywhere.
    for (const i of [0, 4, 31]) {
      const other = a.slice();
      other[i] = other[i]! ^ 1;
      expect(find(other, 1000, 61_000)).toBe("");
    }
    expect(find(a.subarray(0, 31), 1000, 61_000)).toBe("");
  });

  it("stays bounded: a token's entry replaces whatever held its slot", () => {
    mod.reset(4);
    const hashes = Array.from({ length: 100 }, (_, i) => hashOf(`token-${i}`));
    for (const [i, h] of hashes.entries()) remember(h, i, 60_000, `user-${i}`);
    const held = hashes.filter((h, i) => find(h, i, 60_000) === `user-${i}`);
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThanOrEqual(4);
    // The last one is always there: nothing evicts the newest entry of its slot.
    expect(find(hashes[99]!, 99, 60_000)).toBe("user-99");
  });
});
