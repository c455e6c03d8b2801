// The worker's memo of active tokens it has seen: for each, the decoded identity, its identity
// headers already encoded, and its revocation fingerprint, until the moment the shared cache entry
// it came from expires. A repeat token is recognised by a SipHash-128 tag of its bytes under a
// random key of this VM's own, so a memo hit costs neither the token's SHA-256 nor a shared-data
// read, and the memo holds no token and nothing an attacker without the key could match.
//
// What the memo does not change: it never holds an answer longer than the shared cache would
// (expiresAt is the shared entry's: the earlier of the token's exp and positive_ttl_s), it holds
// only active answers, and the revoked set is still read on every request. What it does change:
// an entry evicted from the shared cache for room may still be served by a worker that remembers
// it, until that same expiry.
//
// Direct-mapped: a fixed number of slots, each holding at most one entry, picked by the tag. A new
// entry replaces whatever its slot held, so memory stays bounded whatever the number of tokens.
import { Identity, PreparedIdentityHeaders } from "./identity";
import { sipHash128 } from "./siphash";

// Each entry holds a decoded identity and its encoded headers, about 2 KB of the VM's memory: 256
// slots keep a worker's memo near half a megabyte while covering the clients one proxy serves at once.
export const MEMO_SLOTS: i32 = 256;

export class MemoEntry {
  constructor(
    readonly tagLo: u64,
    readonly tagHi: u64,
    readonly expiresAt: i64,
    readonly identity: Identity,
    readonly headers: PreparedIdentityHeaders,
    /** The revoked-set fingerprint of the token's revocation key; empty when it has none. */
    readonly revocationFingerprint: Uint8Array,
  ) {}
}

const tagOut = memory.data(16);

export class IdentityMemo {
  private readonly slots: StaticArray<MemoEntry | null>;
  /** The tag of the bytes last given to tag(). */
  lastLo: u64 = 0;
  lastHi: u64 = 0;

  /**
   * `key` is 16 random bytes; a memo without one (null: the host gave no randomness) remembers
   * nothing, so every request takes the shared cache's path.
   */
  constructor(key: Uint8Array | null, size: i32 = MEMO_SLOTS) {
    const enabled = key !== null && key.length == 16;
    this.slots = new StaticArray<MemoEntry | null>(enabled ? max(size, 1) : 1);
    this.enabled = enabled;
    this.k0 = enabled ? load<u64>(key!.dataStart) : 0;
    this.k1 = enabled ? load<u64>(key!.dataStart, 8) : 0;
  }

  private readonly enabled: bool;
  private readonly k0: u64;
  private readonly k1: u64;

  /** Tags the `len` bytes at `ptr` (a token, where it lies); the result is in lastLo and lastHi. */
  tag(ptr: usize, len: i32): void {
    sipHash128(this.k0, this.k1, ptr, len, tagOut);
    this.lastLo = load<u64>(tagOut);
    this.lastHi = load<u64>(tagOut, 8);
  }

  /** The entry for the token with this tag, while it has not expired; otherwise null. */
  find(tagLo: u64, tagHi: u64, nowMs: i64): MemoEntry | null {
    if (!this.enabled) return null;
    const e = unchecked(this.slots[this.slotOf(tagLo)]);
    if (e === null || e.tagLo != tagLo || e.tagHi != tagHi || e.expiresAt <= nowMs) return null;
    return e;
  }

  /** Keeps `entry`, replacing whatever its slot held. */
  remember(entry: MemoEntry): void {
    if (this.enabled) unchecked((this.slots[this.slotOf(entry.tagLo)] = entry));
  }

  private slotOf(tagLo: u64): i32 {
    return <i32>(tagLo % <u64>this.slots.length);
  }
}
