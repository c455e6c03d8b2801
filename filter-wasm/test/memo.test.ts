import { beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import type { ASUtil } from "@assemblyscript/loader";
import { loadEntry } from "./asc.ts";
import { withBuffers, withStrings } from "./wasm-values.ts";

type Exports = {
  reset(key: number, size: number): void;
  remember(token: number, expiresAt: bigint, subject: number): void;
  find(token: number, now: bigint): number;
};

let mod: ASUtil & Exports;
beforeAll(async () => {
  mod = await loadEntry<Exports>("filter-wasm/test/entries/memo.ts");
});

const reset = (key: Uint8Array, size: number) => withBuffers(mod, [key], ([k]) => mod.reset(k!, size));
const remember = (token: string, expiresAt: number, subject: string) =>
  withStrings(mod, [token, subject], ([t, s]) => mod.remember(t!, BigInt(expiresAt), s!));
const find = (token: string, now: number) => withStrings(mod, [token], ([t]) => mod.__getString(mod.find(t!, BigInt(now))));

describe("the worker's identity memo", () => {
  it("answers for exactly the token it was given, until the shared entry's expiry and not a millisecond longer", () => {
    reset(randomBytes(16), 64);
    remember("token-a", 61_000, "alice");
    expect(find("token-a", 1_000)).toBe("alice");
    expect(find("token-a", 60_999)).toBe("alice");
    expect(find("token-a", 61_000)).toBe("");
    for (const other of ["token-b", "token-", "token-aa", "Token-a", "token-a "]) expect(find(other, 1_000), other).toBe("");
  });

  it("keeps a newer answer for the same token over the older one", () => {
    reset(randomBytes(16), 64);
    remember("token-a", 61_000, "alice");
    remember("token-a", 90_000, "alice.renamed");
    expect(find("token-a", 70_000)).toBe("alice.renamed");
  });

  it("does not recognise a token under another worker's key", () => {
    const key = randomBytes(16);
    reset(key, 64);
    remember("token-a", 61_000, "alice");
    expect(find("token-a", 1_000)).toBe("alice");
    const other = Uint8Array.from(key);
    other[0] = other[0]! ^ 1;
    reset(other, 64);
    expect(find("token-a", 1_000)).toBe("");
  });

  it("remembers nothing without a key (the host gave no randomness)", () => {
    reset(new Uint8Array(0), 64);
    remember("token-a", 61_000, "alice");
    expect(find("token-a", 1_000)).toBe("");
  });

  it("stays bounded: a token's entry replaces whatever held its slot", () => {
    reset(randomBytes(16), 4);
    const tokens = Array.from({ length: 100 }, (_, i) => `token-${i}`);
    for (const [i, t] of tokens.entries()) remember(t, 60_000, `user-${i}`);
    const held = tokens.filter((t, i) => find(t, 0) === `user-${i}`);
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThanOrEqual(4);
    // The newest entry is always there: nothing evicts the last one written to its slot.
    expect(find(tokens[99]!, 0)).toBe("user-99");
  });
});
