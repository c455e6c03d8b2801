import { beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import type { ASUtil } from "@assemblyscript/loader";
import { loadEntry } from "./asc.ts";
import { rng, withBuffers, withStrings } from "./wasm-values.ts";
import { acceptableJson, mutateText, randomJsonText, randomString } from "./json-oracle.ts";

type Exports = {
  fp(key: number): number;
  shardKeyOf(key: number): number;
  merge(value: number, additions: number, nowS: bigint): number;
  lastDropped(): number;
  lastChanged(): number;
  has(value: number, fp: number, nowS: bigint): number;
  decodedCount(value: number): number;
  parse(body: number, nowS: bigint): number;
  parseBytes(body: number, nowS: bigint): number;
  path(p: number, cursor: number): number;
  encodeStateOf(dueAt: bigint, busyUntil: bigint, sweep: number, cursor: number): number;
  decodeStateOf(value: number): number;
  due(value: number, nowMs: bigint): number;
  next(dueAt: bigint, nowMs: bigint, pollMs: bigint): bigint;
};

let mod: ASUtil & Exports;
beforeAll(async () => {
  mod = await loadEntry<Exports>("filter-wasm/test/entries/revocations.ts");
});

const NOW = 1_700_000_000;
const MAX_SHARD_ENTRIES = 4096;
const FEED_MAX_LENGTH = 4 << 20;

const fingerprintOf = (key: string) => new Uint8Array(createHash("sha256").update(key, "utf8").digest().subarray(0, 16));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (ptr: number) => new Uint8Array(mod.__getArrayBuffer(ptr));

type Shard = Uint8Array | null;
type Entry = [fp: Uint8Array, exp: number];

/** Merge input: 24-byte records (fingerprint, i64 exp little-endian). */
function records(entries: Entry[]): Uint8Array {
  const out = Buffer.alloc(entries.length * 24);
  entries.forEach(([fp, exp], i) => {
    out.set(fp, i * 24);
    out.writeBigInt64LE(BigInt(exp), i * 24 + 16);
  });
  return out;
}

/** What a shard value says, decoded in JS from the documented layout. */
function entriesOf(shard: Uint8Array): Entry[] {
  expect(shard[0]).toBe(1);
  expect((shard.length - 1) % 24).toBe(0);
  const b = Buffer.from(shard);
  return Array.from({ length: (shard.length - 1) / 24 }, (_, i) => [new Uint8Array(b.subarray(1 + i * 24, 17 + i * 24)), Number(b.readBigInt64LE(17 + i * 24))]);
}

const withShard = <R>(shard: Shard, more: Uint8Array[], call: (s: number, rest: number[]) => R): R =>
  withBuffers(mod, shard ? [shard, ...more] : more, (ptrs) => (shard ? call(ptrs[0]!, ptrs.slice(1)) : call(0, ptrs)));
const merge = (shard: Shard, entries: Entry[], nowS = NOW) => {
  const value = withShard(shard, [records(entries)], (s, [a]) => bytes(mod.merge(s, a!, BigInt(nowS))));
  return { value, changed: mod.lastChanged() !== 0, dropped: mod.lastDropped() };
};
const has = (shard: Shard, fp: Uint8Array, nowS = NOW) => withShard(shard, [fp], (s, [f]) => mod.has(s, f!, BigInt(nowS)) !== 0);
const count = (shard: Shard) => withShard(shard, [], (s) => mod.decodedCount(s));

type Answer = { ok: true; cursor: string; entries: [string, number][] } | { ok: false; error: string };
const parse = (body: string | object, nowS = NOW): Answer =>
  withStrings(mod, [typeof body === "string" ? body : JSON.stringify(body)], ([b]) => JSON.parse(mod.__getString(mod.parse(b!, BigInt(nowS)))) as Answer);
const parseBytes = (body: Uint8Array, nowS = NOW): Answer =>
  withBuffers(mod, [body], ([b]) => JSON.parse(mod.__getString(mod.parseBytes(b!, BigInt(nowS)))) as Answer);

const fp = (n: number, first = n & 0xff) => {
  const b = new Uint8Array(16);
  b[0] = first;
  new DataView(b.buffer).setUint32(12, n);
  return b;
};

describe("fingerprints and shard keys", () => {
  it("are the first 16 bytes of SHA-256 over the key's UTF-8, and altgate/r/s/<first byte>", () => {
    for (const key of ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "onrtac:7d1e9a7c-0b5f", "Zoë", "日本"]) {
      const expected = fingerprintOf(key);
      expect(withStrings(mod, [key], ([k]) => hex(bytes(mod.fp(k!))))).toBe(hex(expected));
      expect(withStrings(mod, [key], ([k]) => mod.__getString(mod.shardKeyOf(k!)))).toBe(`altgate/r/s/${expected[0]}`);
    }
  });
});

describe("shards", () => {
  it("merge entries sorted by fingerprint, one per fingerprint with its latest exp", () => {
    const { value, changed } = merge(null, [[fp(3), NOW + 10], [fp(1), NOW + 10], [fp(2), NOW + 5], [fp(1), NOW + 99], [fp(1), NOW + 20]]);
    expect(changed).toBe(true);
    expect(entriesOf(value).map(([f, e]) => [hex(f), e])).toEqual([
      [hex(fp(1)), NOW + 99],
      [hex(fp(2)), NOW + 5],
      [hex(fp(3)), NOW + 10],
    ]);
    const again = merge(value, [[fp(2), NOW + 50], [fp(0), NOW + 1], [fp(3), NOW + 1]]);
    expect(entriesOf(again.value).map(([f, e]) => [hex(f), e])).toEqual([
      [hex(fp(0)), NOW + 1],
      [hex(fp(1)), NOW + 99],
      [hex(fp(2)), NOW + 50],
      [hex(fp(3)), NOW + 10],
    ]);
  });

  it("hold an entry until its exp, then drop it at the next write", () => {
    const { value } = merge(null, [[fp(1), NOW + 10], [fp(2), NOW + 20]]);
    expect(has(value, fp(1), NOW + 9)).toBe(true);
    expect(has(value, fp(1), NOW + 10)).toBe(false);
    expect(has(value, fp(2), NOW + 10)).toBe(true);
    const swept = merge(value, [], NOW + 10);
    expect(swept.changed).toBe(true);
    expect(entriesOf(swept.value).map(([f]) => hex(f))).toEqual([hex(fp(2))]);
    expect(merge(swept.value, [], NOW + 10).changed).toBe(false);
  });

  it("take no already-expired entry, and leave a never-written shard unwritten when there is nothing to hold", () => {
    expect(merge(null, [[fp(1), NOW], [fp(2), NOW - 100]])).toMatchObject({ changed: false });
    expect(merge(null, [])).toMatchObject({ changed: false });
  });

  it("say nothing changed when an answer repeats what they hold (answers are merged idempotently)", () => {
    const entries: Entry[] = [[fp(1), NOW + 10], [fp(2), NOW + 20]];
    const { value } = merge(null, entries);
    expect(merge(value, entries).changed).toBe(false);
    expect(merge(value, [[fp(1), NOW + 5]]).changed).toBe(false);
    expect(merge(value, [[fp(1), NOW + 11]]).changed).toBe(true);
  });

  it("find exactly their entries, by binary search, among thousands", () => {
    const next = rng(7);
    const present = new Map<string, number>();
    const entries: Entry[] = [];
    for (let i = 0; i < 3000; i++) {
      const f = fp(Math.floor(next() * 2 ** 32), 42);
      const exp = NOW + 1 + Math.floor(next() * 1000);
      entries.push([f, exp]);
      present.set(hex(f), Math.max(present.get(hex(f)) ?? 0, exp));
    }
    const { value } = merge(null, entries);
    expect(count(value)).toBe(present.size);
    for (const [f, exp] of entries.slice(0, 500)) {
      expect(has(value, f, exp - 1)).toBe(true);
      expect(has(value, f, present.get(hex(f))!)).toBe(false);
    }
    for (let i = 0; i < 500; i++) {
      const f = fp(Math.floor(next() * 2 ** 32), 42);
      expect(has(value, f, NOW)).toBe(present.has(hex(f)));
    }
  });

  it(`keep at most ${MAX_SHARD_ENTRIES} entries, dropping those that expire soonest`, () => {
    const entries: Entry[] = Array.from({ length: MAX_SHARD_ENTRIES + 10 }, (_, i) => [fp(i, 7), NOW + 100 + i]);
    const { value, dropped } = merge(null, entries);
    expect(dropped).toBe(10);
    expect(count(value)).toBe(MAX_SHARD_ENTRIES);
    for (let i = 0; i < 10; i++) expect(has(value, fp(i, 7))).toBe(false);
    expect(has(value, fp(10, 7))).toBe(true);
    expect(has(value, fp(MAX_SHARD_ENTRIES + 9, 7))).toBe(true);
  });

  it("read anything else as empty, and a merge replaces it", () => {
    const good = merge(null, [[fp(1), NOW + 10]]).value;
    const garbage: Uint8Array[] = [
      new Uint8Array(0),
      Uint8Array.of(2, ...good.subarray(1)),
      good.subarray(0, good.length - 1),
      Uint8Array.of(...good, 0),
      Uint8Array.from({ length: 97 }, (_, i) => i),
    ];
    for (const value of garbage) {
      expect(has(value, fp(1))).toBe(false);
      expect(count(value)).toBe(0);
      expect(entriesOf(merge(value, [[fp(2), NOW + 10]]).value).map(([f]) => hex(f))).toEqual([hex(fp(2))]);
    }
    expect(has(good, new Uint8Array(15))).toBe(false);
  });
});

describe("feed answers", () => {
  const key1 = "a".repeat(64);
  const key2 = "onrtac:7d1e9a7c-0b5f-4a55-8c1e-000000000001";

  it("read the cursor and every live entry, keys as fingerprints", () => {
    const a = parse({ cursor: "0f1e2d3c4b5a.17", revoked: [{ key: key1, exp: NOW + 60 }, { key: key2, exp: NOW + 1 }] });
    expect(a).toEqual({ ok: true, cursor: "0f1e2d3c4b5a.17", entries: [[hex(fingerprintOf(key1)), NOW + 60], [hex(fingerprintOf(key2)), NOW + 1]] });
    expect(parse({ cursor: "c.1", revoked: [] })).toEqual({ ok: true, cursor: "c.1", entries: [] });
  });

  it("skip entries already expired, with an empty key, or with a key no identity header could carry", () => {
    const a = parse({
      cursor: "c.2",
      revoked: [
        { key: key1, exp: NOW },
        { key: "", exp: NOW + 60 },
        { key: "k".repeat(4097), exp: NOW + 60 },
        { key: "k".repeat(4096), exp: NOW + 60 },
        { key: key2, exp: NOW + 60.9 },
      ],
    });
    expect(a).toEqual({ ok: true, cursor: "c.2", entries: [[hex(fingerprintOf("k".repeat(4096))), NOW + 60], [hex(fingerprintOf(key2)), NOW + 60]] });
  });

  it("ignore members they do not know", () => {
    expect(parse({ cursor: "c.3", more: { x: [1] }, revoked: [{ key: key1, exp: NOW + 5, kind: "api-token" }] })).toMatchObject({ ok: true });
  });

  it.each([
    ["not JSON", "{", "revocation feed answer: invalid JSON"],
    ["an array", "[]", "revocation feed answer: not a JSON object"],
    ["no cursor", { revoked: [] }, "revocation feed answer: cursor: must be"],
    ["an empty cursor", { cursor: "", revoked: [] }, "revocation feed answer: cursor: must be"],
    ["a cursor with a space", { cursor: "a b", revoked: [] }, "revocation feed answer: cursor: must be"],
    ["a non-ASCII cursor", { cursor: "é.1", revoked: [] }, "revocation feed answer: cursor: must be"],
    ["a long cursor", { cursor: "c".repeat(257), revoked: [] }, "revocation feed answer: cursor: must be"],
    ["a numeric cursor", { cursor: 17, revoked: [] }, "revocation feed answer: cursor: must be"],
    ["no revoked", { cursor: "c.1" }, "revocation feed answer: revoked: must be an array"],
    ["revoked an object", { cursor: "c.1", revoked: {} }, "revocation feed answer: revoked: must be an array"],
    ["an entry not an object", { cursor: "c.1", revoked: ["k"] }, "revocation feed answer: revoked[0]: must be an object"],
    ["a numeric key", { cursor: "c.1", revoked: [{ key: 1, exp: NOW + 5 }] }, "revocation feed answer: revoked[0].key: must be a string"],
    ["no key", { cursor: "c.1", revoked: [{ exp: NOW + 5 }] }, "revocation feed answer: revoked[0].key: must be a string"],
    ["a string exp", { cursor: "c.1", revoked: [{ key: "k", exp: String(NOW + 5) }] }, "revocation feed answer: revoked[0].exp: must be a NumericDate"],
    ["a negative exp", { cursor: "c.1", revoked: [{ key: "k", exp: -1 }] }, "revocation feed answer: revoked[0].exp: must be a NumericDate"],
    ["an infinite exp", `{"cursor":"c.1","revoked":[{"key":"k","exp":1e400}]}`, "revocation feed answer: revoked[0].exp: must be a NumericDate"],
    ["no exp", { cursor: "c.1", revoked: [{ key: "k", exp: NOW + 5 }, { key: "k" }] }, "revocation feed answer: revoked[1].exp: must be a NumericDate"],
    ["a duplicate member", `{"cursor":"c.1","cursor":"c.2","revoked":[]}`, "revocation feed answer: invalid JSON"],
  ])("are malformed with %s", (_, body, error) => {
    const a = parse(body);
    expect(a.ok).toBe(false);
    expect((a as { error: string }).error.startsWith(error)).toBe(true);
  });

  it("never name a key in an error", () => {
    const secretKey = "SECRET-KEY-0123456789";
    for (const body of [
      { cursor: "c.1", revoked: [{ key: secretKey, exp: "x" }] },
      { cursor: "c.1", revoked: [{ key: secretKey, exp: NOW + 5 }, 3] },
      `{"cursor":"c.1","revoked":[{"key":"${secretKey}\\x","exp":1}]}`,
    ]) {
      const a = parse(body);
      expect(a.ok).toBe(false);
      expect(JSON.stringify(a)).not.toContain("SECRET");
    }
  });

  it("refuse bodies over 4 MiB and bytes that are not UTF-8", () => {
    expect(parseBytes(Buffer.from(`{"cursor":"c.1","revoked":[]}${" ".repeat(FEED_MAX_LENGTH)}`))).toMatchObject({ ok: false });
    expect(parseBytes(Buffer.from(`{"cursor":"c.1","revoked":[{"key":"\xff","exp":${NOW + 5}}]}`, "latin1"))).toMatchObject({ ok: false });
    expect(parseBytes(Buffer.from(JSON.stringify({ cursor: "c.1", revoked: [{ key: "Zoë", exp: NOW + 5 }] })))).toEqual({
      ok: true, cursor: "c.1", entries: [[hex(fingerprintOf("Zoë")), NOW + 5]],
    });
  });

  it("read 10,000 entries", () => {
    const revoked = Array.from({ length: 10_000 }, (_, i) => ({ key: createHash("sha256").update(String(i)).digest("hex"), exp: NOW + 1 + i }));
    const a = parse({ cursor: "c.10000", revoked });
    expect(a.ok && a.entries.length).toBe(10_000);
  });

  /** The contract as read by a JS oracle: what must be accepted, and which entries come out. */
  function oracle(text: string, nowS: number): Answer | undefined {
    const parsed = acceptableJson(text, 8, FEED_MAX_LENGTH);
    if (!parsed) return undefined;
    const v = parsed.value as Record<string, unknown>;
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    if (typeof v.cursor !== "string" || !/^[!-~]{1,256}$/.test(v.cursor) || !Array.isArray(v.revoked)) return undefined;
    const entries: [string, number][] = [];
    for (const e of v.revoked as unknown[]) {
      if (e === null || typeof e !== "object" || Array.isArray(e)) return undefined;
      const { key, exp } = e as Record<string, unknown>;
      if (typeof key !== "string" || typeof exp !== "number" || !Number.isFinite(exp) || exp < 0 || exp > 2 ** 53 - 1) return undefined;
      if (Math.floor(exp) > nowS && key.length >= 1 && key.length <= 4096) entries.push([hex(fingerprintOf(key)), Math.floor(exp)]);
    }
    return { ok: true, cursor: v.cursor, entries };
  }

  it("5,000 random and mutated answers: no abort, accepted exactly as the contract says", () => {
    const next = rng(20260201);
    const keys = ["k", "a".repeat(64), "onrtac:1", "", "Zoë", "\ud800", "x".repeat(4097)];
    const pickKey = () => (next() < 0.7 ? keys[Math.floor(next() * keys.length)]! : randomString(next));
    const valid = () =>
      JSON.stringify({
        cursor: next() < 0.9 ? `abc.${Math.floor(next() * 1000)}` : randomString(next),
        revoked: Array.from({ length: Math.floor(next() * 4) }, () => ({ key: pickKey(), exp: NOW + Math.floor(next() * 200) - 100 })),
        ...(next() < 0.1 ? { extra: JSON.parse(randomJsonText(next) || "null") as unknown } : {}),
      });
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const r = next();
      let text: string;
      try {
        text = r < 0.4 ? valid() : r < 0.85 ? mutateText(next, valid()) : randomJsonText(next);
      } catch {
        continue;
      }
      const expected = oracle(text, NOW);
      const got = parse(text);
      if (expected) {
        accepted++;
        expect(got, text).toEqual(expected);
      } else {
        expect(got.ok, text).toBe(false);
      }
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});

describe("poll paths", () => {
  const path = (p: string, cursor: string) => withStrings(mod, [p, cursor], ([a, b]) => mod.__getString(mod.path(a!, b!)));

  it("ask for the whole set without a cursor, and since=<cursor, form-encoded> with one", () => {
    expect(path("/internal/v1/revocations", "")).toBe("/internal/v1/revocations");
    expect(path("/internal/v1/revocations", "0f1e2d3c4b5a.17")).toBe("/internal/v1/revocations?since=0f1e2d3c4b5a.17");
    expect(path("/f", "a+b/c&d=e%")).toBe("/f?since=a%2Bb%2Fc%26d%3De%25");
  });
});

describe("the poll state", () => {
  const encode = (dueAt: number, busyUntil: number, sweep: number, cursor: string) =>
    withStrings(mod, [cursor], ([c]) => bytes(mod.encodeStateOf(BigInt(dueAt), BigInt(busyUntil), sweep, c!)));
  const decode = (value: Uint8Array | null) => withShard(value, [], (v) => JSON.parse(mod.__getString(mod.decodeStateOf(v))) as unknown);
  const due = (value: Uint8Array | null, now: number) => withShard(value, [], (v) => mod.due(v, BigInt(now)) !== 0);
  const FRESH = { dueAt: 0, busyUntil: 0, sweep: 0, cursor: "" };
  const T = NOW * 1000;

  it("round-trips, and reads anything else as fresh (the next poll then fetches the whole set)", () => {
    const value = encode(T + 250, T + 2000, 17, "0f1e2d3c4b5a.17");
    expect(decode(value)).toEqual({ dueAt: T + 250, busyUntil: T + 2000, sweep: 17, cursor: "0f1e2d3c4b5a.17" });
    expect(decode(null)).toEqual(FRESH);
    for (const bad of [new Uint8Array(0), Uint8Array.of(2, ...value.subarray(1)), value.subarray(0, value.length - 1), Uint8Array.of(...value, 0)]) {
      expect(decode(bad)).toEqual(FRESH);
    }
    expect(decode(encode(T, 0, 256, "c"))).toEqual(FRESH);
    expect(decode(encode(T, 0, 1, "a b"))).toEqual(FRESH);
  });

  it("is due once dueAt has come (within 5 ms) and no lease is held", () => {
    expect(due(null, T)).toBe(true);
    expect(due(encode(T + 5, 0, 0, ""), T)).toBe(true);
    expect(due(encode(T + 6, 0, 0, ""), T)).toBe(false);
    expect(due(encode(T, T + 1, 0, ""), T)).toBe(false);
    expect(due(encode(T, T, 0, ""), T)).toBe(true);
  });

  it("schedules polls at a fixed rate, never in the past", () => {
    const next = (dueAt: number, now: number, poll: number) => Number(mod.next(BigInt(dueAt), BigInt(now), BigInt(poll)));
    expect(next(T, T + 30, 250)).toBe(T + 250);
    expect(next(T, T + 250, 250)).toBe(T + 500);
    expect(next(0, T, 250)).toBe(T + 250);
  });
});
