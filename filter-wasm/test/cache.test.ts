import { beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import type { ASUtil } from "@assemblyscript/loader";
import { loadEntry } from "./asc.ts";
import { rng, withBuffers } from "./wasm-values.ts";

type Exports = {
  emptyBucket(): number;
  insertEntry(bucket: number, hash: number, kind: number, expiresAt: bigint, insertedAt: bigint, payload: number, now: bigint): number;
  lastEvicted(): number;
  lookupEntry(bucket: number, hash: number, now: bigint): number;
  lookupEncodedEntry(bucket: number, hash: number, now: bigint): number;
  decodedCount(bucket: number): number;
  reencode(bucket: number): number;
  key(hash: number, bucketCount: number): number;
  countFor(maxEntries: number): number;
  positiveExp(now: bigint, tokenExp: bigint, ttl: bigint): bigint;
  negativeExp(now: bigint, ttl: bigint): bigint;
};

let mod: ASUtil & Exports;
beforeAll(async () => {
  mod = await loadEntry<Exports>("filter-wasm/test/entries/cache.ts");
});

const POSITIVE = 1;
const NEGATIVE = 2;
const PENDING = 3;
const NONE = new Uint8Array(0);
const hashOf = (token: string) => new Uint8Array(createHash("sha256").update(token).digest());
const bytes = (ptr: number) => new Uint8Array(mod.__getArrayBuffer(ptr));

type Bucket = Uint8Array | null;
// `null` stands for a key never written: the value proxy_get_shared_data returns as not found.
const withBucket = <R>(bucket: Bucket, more: Uint8Array[], call: (b: number, rest: number[]) => R): R =>
  withBuffers(mod, bucket ? [bucket, ...more] : more, (ptrs) => (bucket ? call(ptrs[0]!, ptrs.slice(1)) : call(0, ptrs)));
const insert = (bucket: Bucket, hash: Uint8Array, kind: number, expiresAt: number, insertedAt: number, now: number, payload = NONE) => {
  const out = withBucket(bucket, [hash, payload], (b, [h, p]) => bytes(mod.insertEntry(b, h!, kind, BigInt(expiresAt), BigInt(insertedAt), p!, BigInt(now))));
  return { bucket: out, evicted: mod.lastEvicted() !== 0 };
};
const lookup = (bucket: Bucket, hash: Uint8Array, now: number) =>
  withBucket(bucket, [hash], (b, [h]) => mod.__getString(mod.lookupEntry(b, h!, BigInt(now))));
const count = (bucket: Bucket) => withBucket(bucket, [], (b) => mod.decodedCount(b));
const reencode = (bucket: Bucket) => withBucket(bucket, [], (b) => bytes(mod.reencode(b)));
const key = (hash: Uint8Array, n: number) => withBuffers(mod, [hash], ([h]) => mod.__getString(mod.key(h!, n)));

const T = 1_700_000_000_000;
const [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map(hashOf) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
const payload = Uint8Array.from([1, 2, 3, 250]);

describe("bucket keys", () => {
  it("bucketCount = max(1, max_entries / 4)", () => {
    expect(mod.countFor(20_000)).toBe(5000);
    expect(mod.countFor(8)).toBe(2);
    expect(mod.countFor(7)).toBe(1);
    expect(mod.countFor(0)).toBe(1);
    expect(mod.countFor(-40)).toBe(1);
  });

  it("is altgate/c/<first four hash bytes, big-endian, mod bucketCount>", () => {
    const h = new Uint8Array(32);
    h.set([0x00, 0x01, 0x00, 0x02]);
    expect(key(h, 5000)).toBe(`altgate/c/${0x00010002 % 5000}`);
    h.set([0xff, 0xff, 0xff, 0xff]);
    expect(key(h, 5000)).toBe(`altgate/c/${0xffffffff % 5000}`);
    expect(key(h, 1)).toBe("altgate/c/0");
    expect(key(h, 0)).toBe("altgate/c/0");
    expect(key(NONE, 10)).toBe("altgate/c/0");
  });

  it("100,000 tokens use at most bucketCount keys, spread evenly", () => {
    const used = new Map<string, number>();
    for (let i = 0; i < 100_000; i++) {
      const k = key(hashOf(`token-${i}`), 250);
      used.set(k, (used.get(k) ?? 0) + 1);
    }
    expect(used.size).toBe(250);
    expect(Math.max(...used.values())).toBeLessThan(550); // mean 400
  });
});

describe("lookup and insert", () => {
  it("a never-written or empty bucket misses", () => {
    expect(lookup(null, a, T)).toBe("miss");
    expect(lookup(bytes(mod.emptyBucket()), a, T)).toBe("miss");
  });

  it("positive hits return the payload and expiry; negative and pending their expiry or deadline", () => {
    let bucket = insert(null, a, POSITIVE, T + 60_000, T, T, payload).bucket;
    bucket = insert(bucket, b, NEGATIVE, T + 5_000, T, T).bucket;
    bucket = insert(bucket, c, PENDING, T + 2_000, T, T).bucket;
    expect(lookup(bucket, a, T + 1)).toBe(`positive:010203fa:${T + 60_000}`);
    expect(lookup(bucket, b, T + 1)).toBe(`negative:${T + 5_000}`);
    expect(lookup(bucket, c, T + 1)).toBe(`pending:${T + 2_000}`);
    expect(lookup(bucket, d, T + 1)).toBe("miss");
  });

  it("an entry is a miss from its expiry on", () => {
    const bucket = insert(null, a, POSITIVE, T + 1000, T, T, payload).bucket;
    expect(lookup(bucket, a, T + 999)).toMatch(/^positive:/);
    expect(lookup(bucket, a, T + 1000)).toBe("miss");
    expect(lookup(bucket, a, T + 5000)).toBe("miss");
  });

  it("re-inserting a hash replaces its entry (pending → positive) and evicts nothing", () => {
    let r = insert(null, a, PENDING, T + 2000, T, T);
    for (const h of [b, c, d]) r = insert(r.bucket, h, NEGATIVE, T + 5000, T, T);
    r = insert(r.bucket, a, POSITIVE, T + 60_000, T + 10, T + 10, payload);
    expect(r.evicted).toBe(false);
    expect(count(r.bucket)).toBe(4);
    expect(lookup(r.bucket, a, T + 11)).toBe(`positive:010203fa:${T + 60_000}`);
  });

  it("a full bucket drops expired entries first, then the oldest live one", () => {
    let r = insert(null, a, POSITIVE, T + 60_000, T + 3, T, payload);
    r = insert(r.bucket, b, POSITIVE, T + 60_000, T + 1, T, payload); // oldest
    r = insert(r.bucket, c, NEGATIVE, T + 100, T + 2, T); // expires first
    r = insert(r.bucket, d, POSITIVE, T + 60_000, T + 4, T, payload);
    expect(r.evicted).toBe(false);

    const afterExpiry = insert(r.bucket, e, NEGATIVE, T + 5000, T + 200, T + 200);
    expect(afterExpiry.evicted).toBe(false);
    expect(lookup(afterExpiry.bucket, b, T + 201)).toMatch(/^positive:/);
    expect(lookup(afterExpiry.bucket, e, T + 201)).toMatch(/^negative:/);

    const beforeExpiry = insert(r.bucket, e, NEGATIVE, T + 5000, T + 50, T + 50);
    expect(beforeExpiry.evicted).toBe(true);
    expect(lookup(beforeExpiry.bucket, b, T + 51)).toBe("miss");
    for (const h of [a, c, d, e]) expect(lookup(beforeExpiry.bucket, h, T + 51)).not.toBe("miss");
  });

  it("never grows past 4 entries", () => {
    let bucket: Bucket = null;
    for (let i = 0; i < 50; i++) {
      bucket = insert(bucket, hashOf(`t${i}`), POSITIVE, T + 60_000, T + i, T + i, payload).bucket;
      expect(count(bucket)).toBe(Math.min(i + 1, 4));
    }
    for (let i = 46; i < 50; i++) expect(lookup(bucket, hashOf(`t${i}`), T + 50)).toMatch(/^positive:/);
  });

  it("does not store an already-expired entry, nor evict for it", () => {
    let r = insert(null, a, POSITIVE, T + 60_000, T, T, payload);
    for (const h of [b, c, d]) r = insert(r.bucket, h, POSITIVE, T + 60_000, T, T, payload);
    const dead = insert(r.bucket, e, POSITIVE, T, T, T, payload);
    expect(dead.evicted).toBe(false);
    expect(lookup(dead.bucket, e, T - 1)).toBe("miss");
    expect(count(dead.bucket)).toBe(4);
  });

  it("does not store an entry with a malformed hash or an oversized payload", () => {
    expect(count(insert(null, new Uint8Array(31), POSITIVE, T + 1000, T, T).bucket)).toBe(0);
    expect(count(insert(null, a, POSITIVE, T + 1000, T, T, new Uint8Array(16385)).bucket)).toBe(0);
    expect(count(insert(null, a, POSITIVE, T + 1000, T, T, new Uint8Array(16384)).bucket)).toBe(1);
    expect(count(insert(null, a, 7, T + 1000, T, T).bucket)).toBe(0);
  });

  it("simulated coalescing: one worker claims, others wait, then read the result; a dead claimant is replaced", () => {
    // Worker 1 misses and claims with a 2 s deadline.
    expect(lookup(null, a, T)).toBe("miss");
    const claimed = insert(null, a, PENDING, T + 2000, T, T).bucket;
    // Worker 2 sees the claim.
    expect(lookup(claimed, a, T + 100)).toBe(`pending:${T + 2000}`);
    // Worker 1 stores the result.
    const done = insert(claimed, a, POSITIVE, T + 60_000, T + 300, T + 300, payload).bucket;
    expect(lookup(done, a, T + 400)).toMatch(/^positive:/);
    // Had worker 1 died, the claim lapses and worker 2 takes over.
    expect(lookup(claimed, a, T + 2000)).toBe("miss");
    expect(lookup(insert(claimed, a, PENDING, T + 4000, T + 2000, T + 2000).bucket, a, T + 2001)).toBe(`pending:${T + 4000}`);
  });
});

describe("bucket encoding", () => {
  it("is compact: 2 bytes plus 51 and the payload per entry", () => {
    expect(bytes(mod.emptyBucket())).toEqual(Uint8Array.from([1, 0]));
    const one = insert(null, a, POSITIVE, T + 1, T, T, payload).bucket;
    expect(one.length).toBe(2 + 51 + 4);
  });

  it("fuzz: 20,000 garbage values decode to an empty bucket or to exactly their own encoding", () => {
    const next = rng(17);
    let valid: Uint8Array = insert(null, a, POSITIVE, T + 60_000, T, T, payload).bucket;
    valid = insert(valid, b, NEGATIVE, T + 5000, T, T).bucket;
    valid = insert(valid, c, PENDING, T + 2000, T, T).bucket;
    const empty = bytes(mod.emptyBucket());
    let nonEmpty = 0;
    for (let i = 0; i < 20_000; i++) {
      let g: Uint8Array;
      const r = next();
      if (r < 0.3) g = valid.slice(0, Math.floor(next() * valid.length));
      else if (r < 0.4) g = Uint8Array.from([...valid, ...new Uint8Array(1 + Math.floor(next() * 3))]);
      else if (r < 0.8) {
        g = valid.slice();
        for (let k = 0; k < 1 + Math.floor(next() * 2); k++) g[Math.floor(next() * g.length)] = Math.floor(next() * 256);
      } else g = new Uint8Array(Math.floor(next() * 300)).map(() => Math.floor(next() * 256));
      const n = count(g);
      const again = reencode(g);
      if (n === 0) expect(again).toEqual(empty);
      else {
        nonEmpty++;
        expect(again).toEqual(g);
      }
      // Lookups and inserts on garbage are just as total.
      expect(lookup(g, a, T)).toMatch(/^(miss|positive:|negative:|pending:)/);
      expect(count(insert(g, d, POSITIVE, T + 1000, T, T, payload).bucket)).toBeLessThanOrEqual(4);
    }
    expect(nonEmpty).toBeGreaterThan(2000);
  });

  it("reading a bucket in place (the request path) answers exactly as decoding it, on 20,000 valid and broken buckets", () => {
    const next = rng(23);
    const hashes = [a, b, c, d, e];
    let valid: Uint8Array = insert(null, a, POSITIVE, T + 60_000, T + 1, T, payload).bucket;
    valid = insert(valid, b, NEGATIVE, T + 5000, T + 2, T).bucket;
    valid = insert(valid, c, PENDING, T + 2000, T + 3, T).bucket;
    valid = insert(valid, d, POSITIVE, T + 90_000, T + 4, T, Uint8Array.from({ length: 300 }, (_, i) => i)).bucket;
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      let g: Uint8Array | null;
      const r = next();
      if (r < 0.02) g = null;
      else if (r < 0.3) g = valid.slice(0, Math.floor(next() * (valid.length + 1)));
      else if (r < 0.4) g = Uint8Array.from([...valid, ...new Uint8Array(1 + Math.floor(next() * 3))]);
      else if (r < 0.8) {
        g = valid.slice();
        for (let k = 0; k < 1 + Math.floor(next() * 2); k++) g[Math.floor(next() * g.length)] = Math.floor(next() * 256);
      } else g = new Uint8Array(Math.floor(next() * 300)).map(() => Math.floor(next() * 256));
      const hash = hashes[Math.floor(next() * hashes.length)]!;
      const now = T + Math.floor(next() * 100_000);
      const read = (fn: "lookupEncodedEntry" | "lookupEntry") =>
        withBuffers(mod, g ? [g, hash] : [hash], (p) => mod.__getString(mod[fn](g ? p[0]! : 0, p[g ? 1 : 0]!, BigInt(now))));
      const inPlace = read("lookupEncodedEntry");
      expect(inPlace, `case ${i}`).toBe(read("lookupEntry"));
      seen.add(inPlace.split(":")[0]!);
    }
    expect([...seen].sort()).toEqual(["miss", "negative", "pending", "positive"]);
  });

  it("a value with more than 4 entries is garbage", () => {
    const g = new Uint8Array(2 + 5 * 51);
    g[0] = 1;
    g[1] = 5;
    for (let i = 0; i < 5; i++) g[2 + i * 51 + 32] = NEGATIVE;
    expect(count(g)).toBe(0);
  });
});

describe("TTL policy", () => {
  const now = BigInt(T);
  it("positive: min(token exp, now + positive_ttl)", () => {
    expect(mod.positiveExp(now, BigInt(T / 1000 + 3600), 60n)).toBe(now + 60_000n);
    expect(mod.positiveExp(now, BigInt(T / 1000 + 10), 60n)).toBe(now + 10_000n);
    expect(mod.positiveExp(now, BigInt(T / 1000 - 10), 60n)).toBe(now - 10_000n);
  });

  it("positive without exp, or with an absurd one, is capped by the TTL", () => {
    expect(mod.positiveExp(now, 0n, 60n)).toBe(now + 60_000n);
    expect(mod.positiveExp(now, -5n, 60n)).toBe(now + 60_000n);
    expect(mod.positiveExp(now, 9_223_372_036_854_775_807n, 60n)).toBe(now + 60_000n);
  });

  it("negative: now + negative_ttl", () => {
    expect(mod.negativeExp(now, 5n)).toBe(now + 5000n);
  });

  it("clamps TTLs to [0, 2^31) seconds", () => {
    expect(mod.negativeExp(now, -1n)).toBe(now);
    expect(mod.negativeExp(now, 9_223_372_036_854_775_807n)).toBe(now + 2_147_483_647_000n);
  });
});
