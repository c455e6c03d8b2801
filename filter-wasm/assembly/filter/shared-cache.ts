// The introspection cache in proxy-wasm shared data, shared by every worker VM of the proxy.
// cache.ts decides what a bucket holds; this module reads and writes buckets with CAS so that
// concurrent workers never lose each other's entries.
import {
  bucketCountFor, bucketIndex, bucketKey, decodeBucket, encodeBucket, insert, lookup, lookupEncoded,
  CacheEntry, EntryKind, LookupKind, LookupResult, KEY_PREFIX,
} from "../cache";
import { getShared, getSharedIndexed, setShared, incrementMetric, OK, NOT_FOUND } from "../abi/host";

// Contention on one bucket is brief (a few workers); past this many lost races the write is
// dropped, which only costs a later cache miss, never a wrong answer.
const MAX_CAS_ATTEMPTS = 8;

export class ClaimResult {
  constructor(
    /** True when this worker now owns the introspection for the token. */
    readonly claimed: bool,
    /** What the cache held instead when the claim was not made. */
    readonly current: LookupResult,
  ) {}
}

export class SharedCache {
  readonly bucketCount: i32;

  constructor(maxEntries: i32, readonly evictionMetric: u32) {
    this.bucketCount = bucketCountFor(maxEntries);
  }

  /**
   * Writes an empty bucket wherever none exists yet. Envoy's CAS only protects keys that exist (a
   * write with cas 0 is unconditional), so without this the first two claims on a fresh bucket
   * could both win.
   */
  init(): void {
    const empty = encodeBucket(decodeBucket(null));
    for (let i = 0; i < this.bucketCount; i++) {
      const key = KEY_PREFIX + i.toString();
      if (getShared(key).status == NOT_FOUND) setShared(key, empty, 0);
    }
  }

  lookup(hash: Uint8Array, nowMs: i64): LookupResult {
    return lookupEncoded(getSharedIndexed(KEY_PREFIX, bucketIndex(hash, this.bucketCount)).value, hash, nowMs);
  }

  /** Puts a Pending entry for `hash` unless the cache already has a live entry for it. */
  claim(hash: Uint8Array, nowMs: i64, deadlineMs: i64): ClaimResult {
    const key = bucketKey(hash, this.bucketCount);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const v = getShared(key);
      if (v.status != OK && v.status != NOT_FOUND) break;
      const bucket = decodeBucket(v.value);
      const current = lookup(bucket, hash, nowMs);
      if (current.kind != LookupKind.Miss) return new ClaimResult(false, current);
      const pending = new CacheEntry(hash, EntryKind.Pending, deadlineMs, nowMs, new Uint8Array(0));
      const next = insert(bucket, pending, nowMs);
      if (setShared(key, encodeBucket(next.bucket), v.cas) == OK) {
        if (next.evictedLive) incrementMetric(this.evictionMetric, 1);
        return new ClaimResult(true, current);
      }
    }
    // Could not claim: introspect anyway rather than wait on nobody.
    return new ClaimResult(true, lookup(decodeBucket(null), hash, nowMs));
  }

  /** Replaces whatever the cache holds for `hash` (Pending included) with `kind` until `expiresAt`. */
  store(hash: Uint8Array, kind: EntryKind, expiresAt: i64, payload: Uint8Array, nowMs: i64): void {
    const key = bucketKey(hash, this.bucketCount);
    const entry = new CacheEntry(hash, kind, expiresAt, nowMs, payload);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const v = getShared(key);
      if (v.status != OK && v.status != NOT_FOUND) return;
      const next = insert(decodeBucket(v.value), entry, nowMs);
      if (setShared(key, encodeBucket(next.bucket), v.cas) == OK) {
        if (next.evictedLive) incrementMetric(this.evictionMetric, 1);
        return;
      }
    }
  }

  /** Drops this worker's Pending claim after a failed call so the next request tries again. */
  release(hash: Uint8Array, nowMs: i64): void {
    this.store(hash, EntryKind.Pending, nowMs, new Uint8Array(0), nowMs);
  }
}
