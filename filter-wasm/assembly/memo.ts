// The worker's memo of decoded cache entries. The shared cache stays the one truth about a token:
// every request still reads its bucket, and the memo is used only while that bucket holds the
// very entry the memo was made from (same token hash, same insertedAt and expiresAt). What the
// memo saves is the work that follows a hit: decoding the identity, encoding its headers, and
// fingerprinting its revocation key. So it never lets through a token the shared cache would not,
// and an entry evicted, replaced or expired there is gone from the memo's point of view as well.
//
// Direct-mapped: a fixed number of slots, each holding at most one entry, picked by bytes of the
// token hash that the shared cache's bucket choice does not use. A new entry replaces whatever
// its slot held, so memory stays bounded whatever the number of tokens.
import { HASH_LENGTH } from "./cache";
import { Identity, PreparedIdentityHeaders } from "./identity";

// Each entry holds a decoded identity and its encoded headers, about 2 KB of the VM's memory: 256
// slots keep a worker's memo near half a megabyte while covering the clients one proxy serves at once.
export const MEMO_SLOTS: i32 = 256;

export class MemoEntry {
  constructor(
    readonly hash: Uint8Array,
    readonly insertedAt: i64,
    readonly expiresAt: i64,
    readonly identity: Identity,
    readonly headers: PreparedIdentityHeaders,
    /** The revoked-set fingerprint of the token's revocation key; empty when it has none. */
    readonly revocationFingerprint: Uint8Array,
  ) {}
}

export class IdentityMemo {
  private readonly slots: StaticArray<MemoEntry | null>;

  constructor(readonly size: i32 = MEMO_SLOTS) {
    this.slots = new StaticArray<MemoEntry | null>(max(size, 1));
  }

  /** The entry made from the shared entry (hash, insertedAt, expiresAt), or null. */
  find(hash: Uint8Array, insertedAt: i64, expiresAt: i64): MemoEntry | null {
    if (hash.length != HASH_LENGTH) return null;
    const e = unchecked(this.slots[this.slotOf(hash)]);
    if (e === null || e.insertedAt != insertedAt || e.expiresAt != expiresAt) return null;
    return memory.compare(e.hash.dataStart, hash.dataStart, <usize>HASH_LENGTH) == 0 ? e : null;
  }

  /** Keeps `entry`, replacing whatever its slot held. */
  remember(entry: MemoEntry): void {
    if (entry.hash.length != HASH_LENGTH) return;
    unchecked((this.slots[this.slotOf(entry.hash)] = entry));
  }

  private slotOf(hash: Uint8Array): i32 {
    return <i32>(load<u32>(hash.dataStart, 4) % <u32>this.slots.length);
  }
}
