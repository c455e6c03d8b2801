// Introspection cache policy over proxy-wasm shared data.
//
// Shared data has no delete and never frees a key, so the cache bounds the number of KEYS, not
// just of entries: it is set-associative. A token hash maps to one of bucketCount keys
// ("altgate/c/<index>"), and each key's value is a bucket of at most WAYS entries. The keys are
// the same numbers whatever the configuration, so a reconfiguration reuses them rather than
// adding more: at most max(bucketCount) keys ever exist. A token's entry lives only in its own
// bucket and is matched on its full hash, so entries left by an earlier bucketCount are merely
// unreachable until evicted, never wrong.
//
// Pending entries coalesce introspection across the worker VMs: on a miss, a worker inserts a
// Pending entry whose expiresAt is its deadline, and writes the bucket with the CAS token of its
// read. The worker whose write succeeds calls the issuer, then replaces Pending with Positive or
// Negative (again read-modify-CAS, retrying on mismatch). A worker whose CAS fails re-reads; one
// that finds Pending waits for the result. If the caller dies, its deadline passes, the entry
// reads as a miss, and the next worker takes over.
//
// Bucket value (little-endian):
//   u8 format (BUCKET_FORMAT), u8 count (<= WAYS), then count times:
//   32 bytes token hash, u8 kind, i64 expiresAt ms, i64 insertedAt ms, u16 payload length, payload.
// decodeBucket accepts only exactly that; anything else is an empty bucket.
import { ByteReader, ByteWriter } from "./bytes";

export const WAYS: i32 = 4;
export const KEY_PREFIX = "altgate/c/";
export const HASH_LENGTH: i32 = 32;
/** Larger payloads are not cached (a serialized identity is a few hundred bytes). */
export const MAX_PAYLOAD_LENGTH: i32 = 16384;
const BUCKET_FORMAT: u32 = 1;
const ENTRY_HEADER: i32 = HASH_LENGTH + 1 + 8 + 8 + 2;

export enum EntryKind {
  /** Active token; the payload is its serialized identity. */
  Positive = 1,
  /** Inactive or unknown token. */
  Negative = 2,
  /** Introspection in flight; expiresAt is the deadline after which another worker may take over. */
  Pending = 3,
}

export class CacheEntry {
  constructor(
    readonly hash: Uint8Array,
    readonly kind: EntryKind,
    readonly expiresAt: i64,
    readonly insertedAt: i64,
    readonly payload: Uint8Array,
  ) {}
}

export class CacheBucket {
  constructor(readonly entries: CacheEntry[]) {}
}

export function bucketCountFor(maxEntries: i32): i32 {
  return max(1, maxEntries / WAYS);
}

/** Shared-data key of the bucket for `hash`: KEY_PREFIX and bucketIndex. */
export function bucketKey(hash: Uint8Array, bucketCount: i32): string {
  return KEY_PREFIX + bucketIndex(hash, bucketCount).toString();
}

/** The bucket for `hash`: its first four bytes, big-endian, mod bucketCount. */
export function bucketIndex(hash: Uint8Array, bucketCount: i32): u32 {
  let h: u32 = 0;
  for (let i = 0; i < 4 && i < hash.length; i++) h = (h << 8) | unchecked(hash[i]);
  return bucketCount > 1 ? h % <u32>bucketCount : 0;
}

export function encodeBucket(bucket: CacheBucket): ArrayBuffer {
  const entries = bucket.entries;
  let count = 0;
  let size = 2;
  for (let i = 0; i < entries.length && count < WAYS; i++) {
    const e = unchecked(entries[i]);
    if (!isStorable(e)) continue;
    count++;
    size += ENTRY_HEADER + e.payload.length;
  }
  const w = new ByteWriter(size);
  w.u8(BUCKET_FORMAT);
  w.u8(<u32>count);
  let written = 0;
  for (let i = 0; i < entries.length && written < count; i++) {
    const e = unchecked(entries[i]);
    if (!isStorable(e)) continue;
    written++;
    w.bytes(e.hash);
    w.u8(<u32>e.kind);
    w.i64(e.expiresAt);
    w.i64(e.insertedAt);
    w.u16(<u32>e.payload.length);
    w.bytes(e.payload);
  }
  return w.data.buffer;
}

/** Total: a missing value, an old format or any garbage decodes to an empty bucket. */
export function decodeBucket(value: ArrayBuffer | null): CacheBucket {
  if (value == null) return new CacheBucket([]);
  const r = new ByteReader(Uint8Array.wrap(value));
  const format = r.u8();
  const count = <i32>r.u8();
  if (format != BUCKET_FORMAT || count > WAYS) return new CacheBucket([]);
  const entries = new Array<CacheEntry>(0);
  for (let i = 0; i < count && r.ok; i++) {
    const hash = r.view(HASH_LENGTH);
    const kind = r.u8();
    const expiresAt = r.i64();
    const insertedAt = r.i64();
    const payload = r.view(<i32>r.u16());
    if (kind < <u32>EntryKind.Positive || kind > <u32>EntryKind.Pending || payload.length > MAX_PAYLOAD_LENGTH) {
      return new CacheBucket([]);
    }
    entries.push(new CacheEntry(hash, <EntryKind>kind, expiresAt, insertedAt, payload));
  }
  return r.done() ? new CacheBucket(entries) : new CacheBucket([]);
}

export enum LookupKind {
  Miss,
  Positive,
  Negative,
  Pending,
}

export class LookupResult {
  constructor(
    readonly kind: LookupKind,
    /** The serialized identity of a Positive hit; empty otherwise. */
    readonly payload: Uint8Array,
    /** When the hit stops being valid: for Pending, the in-flight call's deadline. 0 on a miss. */
    readonly expiresAt: i64,
  ) {}
}

const MISS = new LookupResult(LookupKind.Miss, new Uint8Array(0), 0);

/** An entry whose expiresAt is not after nowMs is a miss. */
export function lookup(bucket: CacheBucket, hash: Uint8Array, nowMs: i64): LookupResult {
  const entries = bucket.entries;
  for (let i = 0; i < entries.length; i++) {
    const e = unchecked(entries[i]);
    if (e.expiresAt <= nowMs || !sameHash(e.hash, hash)) continue;
    const kind = e.kind == EntryKind.Positive ? LookupKind.Positive : e.kind == EntryKind.Negative ? LookupKind.Negative : LookupKind.Pending;
    return new LookupResult(kind, kind == LookupKind.Positive ? e.payload : MISS.payload, e.expiresAt);
  }
  return MISS;
}

/**
 * lookup(decodeBucket(value), hash, nowMs), read straight from the encoded bucket: the hot path of
 * every cached request, so nothing is allocated but the result (and, on a Positive hit, a view of
 * its payload). Any bucket decodeBucket would refuse is a miss here too.
 */
export function lookupEncoded(value: ArrayBuffer | null, hash: Uint8Array, nowMs: i64): LookupResult {
  if (value === null || hash.length != HASH_LENGTH) return MISS;
  const size = value.byteLength;
  const base = changetype<usize>(value);
  if (size < 2 || <u32>load<u8>(base) != BUCKET_FORMAT || <i32>load<u8>(base, 1) > WAYS) return MISS;
  const count = <i32>load<u8>(base, 1);
  let pos = 2;
  let found = -1;
  for (let i = 0; i < count; i++) {
    if (size - pos < ENTRY_HEADER) return MISS;
    const at = base + <usize>pos;
    const kind = <u32>load<u8>(at, HASH_LENGTH);
    const payloadLength = <i32>load<u16>(at, HASH_LENGTH + 17);
    if (kind < <u32>EntryKind.Positive || kind > <u32>EntryKind.Pending || payloadLength > MAX_PAYLOAD_LENGTH) return MISS;
    if (size - pos - ENTRY_HEADER < payloadLength) return MISS;
    if (found < 0 && load<i64>(at, HASH_LENGTH + 1) > nowMs && memory.compare(at, hash.dataStart, <usize>HASH_LENGTH) == 0) found = pos;
    pos += ENTRY_HEADER + payloadLength;
  }
  if (pos != size || found < 0) return MISS;
  const at = base + <usize>found;
  const kind = <EntryKind>load<u8>(at, HASH_LENGTH);
  const expiresAt = load<i64>(at, HASH_LENGTH + 1);
  if (kind == EntryKind.Negative) return new LookupResult(LookupKind.Negative, MISS.payload, expiresAt);
  if (kind == EntryKind.Pending) return new LookupResult(LookupKind.Pending, MISS.payload, expiresAt);
  const payload = Uint8Array.wrap(value, found + ENTRY_HEADER, <i32>load<u16>(at, HASH_LENGTH + 17));
  return new LookupResult(LookupKind.Positive, payload, expiresAt);
}

export class InsertResult {
  constructor(
    readonly bucket: CacheBucket,
    /** True when a live entry of another token had to make room. */
    readonly evictedLive: bool,
  ) {}
}

/**
 * The bucket with `entry` in it, replacing any entry for the same hash. Expired entries are
 * dropped first; if the bucket is still full, the live entry inserted earliest goes. An entry that
 * is already expired or cannot be stored (hash not 32 bytes, payload too large) is not added, and
 * then no live entry is evicted for it. The input bucket is not modified.
 */
export function insert(bucket: CacheBucket, entry: CacheEntry, nowMs: i64): InsertResult {
  const kept = new Array<CacheEntry>(0);
  const entries = bucket.entries;
  for (let i = 0; i < entries.length; i++) {
    const e = unchecked(entries[i]);
    if (e.expiresAt > nowMs && isStorable(e) && !sameHash(e.hash, entry.hash)) kept.push(e);
  }
  if (entry.expiresAt <= nowMs || !isStorable(entry)) return new InsertResult(new CacheBucket(kept), false);
  let evicted = false;
  while (kept.length >= WAYS) {
    let oldest = 0;
    for (let i = 1; i < kept.length; i++) {
      if (unchecked(kept[i]).insertedAt < unchecked(kept[oldest]).insertedAt) oldest = i;
    }
    kept.splice(oldest, 1);
    evicted = true;
  }
  kept.push(entry);
  return new InsertResult(new CacheBucket(kept), evicted);
}

/** How long an active token's introspection result is trusted: never past the token's own exp. */
export function positiveExpiry(nowMs: i64, tokenExpSeconds: i64, positiveTtlSeconds: i64): i64 {
  const cap = nowMs + clampSeconds(positiveTtlSeconds) * 1000;
  // exp is optional in RFC 7662; without it the TTL alone applies. Comparing in seconds first
  // keeps a huge exp from overflowing the multiplication.
  if (tokenExpSeconds <= 0 || tokenExpSeconds >= cap / 1000 + 1) return cap;
  return min(cap, tokenExpSeconds * 1000);
}

export function negativeExpiry(nowMs: i64, negativeTtlSeconds: i64): i64 {
  return nowMs + clampSeconds(negativeTtlSeconds) * 1000;
}

// A TTL outside [0, 2^31) seconds is a configuration error; clamping keeps the arithmetic exact.
function clampSeconds(s: i64): i64 {
  return min<i64>(max<i64>(s, 0), i32.MAX_VALUE);
}

function isStorable(e: CacheEntry): bool {
  return e.hash.length == HASH_LENGTH && e.payload.length <= MAX_PAYLOAD_LENGTH && e.kind >= EntryKind.Positive && e.kind <= EntryKind.Pending;
}

function sameHash(a: Uint8Array, b: Uint8Array): bool {
  return a.length == HASH_LENGTH && b.length == HASH_LENGTH && memory.compare(a.dataStart, b.dataStart, <usize>HASH_LENGTH) == 0;
}
