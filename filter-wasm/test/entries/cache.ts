// Test entry for cache.ts: buckets cross the boundary encoded, as they sit in shared data.
import { CacheBucket, CacheEntry, EntryKind, LookupKind, LookupResult, bucketCountFor, bucketKey, decodeBucket, encodeBucket, insert, lookup, lookupEncoded, negativeExpiry, positiveExpiry } from "../../assembly/cache";
import { toHex } from "../../assembly/hex";

let evicted = false;

export function emptyBucket(): ArrayBuffer {
  return encodeBucket(new CacheBucket([]));
}

export function insertEntry(bucket: ArrayBuffer | null, hash: ArrayBuffer, kind: i32, expiresAt: i64, insertedAt: i64, payload: ArrayBuffer, now: i64): ArrayBuffer {
  const entry = new CacheEntry(Uint8Array.wrap(hash), <EntryKind>kind, expiresAt, insertedAt, Uint8Array.wrap(payload));
  const r = insert(decodeBucket(bucket), entry, now);
  evicted = r.evictedLive;
  return encodeBucket(r.bucket);
}

export function lastEvicted(): bool {
  return evicted;
}

/** "miss", "positive:<payload hex>:<expiresAt>", "negative:<expiresAt>" or "pending:<deadline>". */
export function lookupEntry(bucket: ArrayBuffer | null, hash: ArrayBuffer, now: i64): string {
  return describe(lookup(decodeBucket(bucket), Uint8Array.wrap(hash), now));
}

/** lookupEncoded, reported as lookupEntry reports lookup. */
export function lookupEncodedEntry(bucket: ArrayBuffer | null, hash: ArrayBuffer, now: i64): string {
  return describe(lookupEncoded(bucket, Uint8Array.wrap(hash), now));
}

function describe(r: LookupResult): string {
  switch (r.kind) {
    case LookupKind.Positive: return "positive:" + toHex(r.payload) + ":" + r.expiresAt.toString();
    case LookupKind.Negative: return "negative:" + r.expiresAt.toString();
    case LookupKind.Pending: return "pending:" + r.expiresAt.toString();
  }
  return "miss";
}

export function decodedCount(bucket: ArrayBuffer | null): i32 {
  return decodeBucket(bucket).entries.length;
}

export function reencode(bucket: ArrayBuffer | null): ArrayBuffer {
  return encodeBucket(decodeBucket(bucket));
}

export function key(hash: ArrayBuffer, bucketCount: i32): string {
  return bucketKey(Uint8Array.wrap(hash), bucketCount);
}

export function countFor(maxEntries: i32): i32 {
  return bucketCountFor(maxEntries);
}

export function positiveExp(now: i64, tokenExp: i64, ttl: i64): i64 {
  return positiveExpiry(now, tokenExp, ttl);
}

export function negativeExp(now: i64, ttl: i64): i64 {
  return negativeExpiry(now, ttl);
}
