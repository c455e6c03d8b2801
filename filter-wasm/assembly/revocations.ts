// The revoked set: what the revocation feed answers, and how the set sits in proxy-wasm shared data.
//
// Shared data never frees a key, so the set lives under a fixed number of keys whatever its size:
// SHARD_COUNT shard keys ("altgate/r/s/<n>") and one poll-state key (STATE_KEY). A feed key (the
// SHA-256 hex of an API token, or an access token's jti) is kept as a fingerprint: the first
// FINGERPRINT_LENGTH bytes of SHA-256 over its UTF-8. Every entry then has one size, no key text
// sits in shared data, and the fingerprint's first byte picks the shard. A shard holds its entries
// sorted by fingerprint, so checking a request is one shared-data read and a binary search.
//
// Unlike the introspection cache, a shard never evicts to make room: a dropped revocation lets a
// revoked token in. Entries leave once their exp has passed (the token is refused as expired from
// then on anyway), whenever their shard is next written. MAX_SHARD_ENTRIES only keeps a feed gone
// wrong from exhausting memory; past it the entries that expire soonest go, and the caller counts them.
//
// Shard value: u8 SHARD_FORMAT, then entries of FINGERPRINT_LENGTH bytes and an i64 exp (seconds),
// little-endian, sorted by fingerprint, distinct. Anything else reads as an empty shard.
// Poll state value: u8 STATE_FORMAT, i64 dueAt ms, i64 busyUntil ms, u16 sweep, string16 cursor.
// Anything else reads as a fresh state, whose empty cursor makes the next poll fetch the whole set.
import { ByteReader, ByteWriter, string16Size } from "./bytes";
import { formUrlEncode } from "./introspection";
import { JsonKind, JsonValue, parseJson } from "./json";
import { sha256String } from "./sha256";
import { decodeUtf8 } from "./utf8";

export const SHARD_COUNT: i32 = 256;
export const SHARD_PREFIX = "altgate/r/s/";
export const STATE_KEY = "altgate/r/state";
export const FINGERPRINT_LENGTH: i32 = 16;
const ENTRY_LENGTH: i32 = FINGERPRINT_LENGTH + 8;
export const MAX_SHARD_ENTRIES: i32 = 4096;
const SHARD_FORMAT: u32 = 1;
const STATE_FORMAT: u32 = 1;

/** Feed answers longer than this (bytes, or UTF-16 code units for parseFeed) are refused: about 45,000 entries. */
export const FEED_MAX_LENGTH: i32 = 4 << 20;
// {"revoked":[{"key":…}]} nests three deep; the margin lets unknown members carry a little structure.
const FEED_MAX_DEPTH: i32 = 8;
export const MAX_CURSOR_LENGTH: i32 = 256;
/**
 * Longer keys are skipped: a token id that long cannot be sent as an identity header
 * (MAX_IDENTITY_HEADER_LENGTH), so the filter never lets such a token through anyway.
 */
export const MAX_KEY_LENGTH: i32 = 4096;
// NumericDates past 2^53 have no exact f64 form; no real token lives that long.
const MAX_NUMERIC_DATE: f64 = 9007199254740991;

export class Revocation {
  constructor(readonly fingerprint: Uint8Array, readonly exp: i64) {}
}

export function fingerprint(key: string): Uint8Array {
  return sha256String(key).subarray(0, FINGERPRINT_LENGTH);
}

export function shardOf(fp: Uint8Array): i32 {
  return fp.length > 0 ? <i32>unchecked(fp[0]) % SHARD_COUNT : 0;
}

export function shardKey(shard: i32): string {
  return SHARD_PREFIX + shard.toString();
}

function compareFingerprints(a: Uint8Array, b: Uint8Array): i32 {
  return memory.compare(a.dataStart, b.dataStart, <usize>FINGERPRINT_LENGTH);
}

/** Entries in a well-formed shard value; -1 for anything else. */
function entryCount(value: ArrayBuffer): i32 {
  return entryCountAt(changetype<usize>(value), <usize>value.byteLength);
}

function entryCountAt(start: usize, length: usize): i32 {
  if (length < 1 || length > <usize>i32.MAX_VALUE || load<u8>(start) != SHARD_FORMAT || (<i32>length - 1) % ENTRY_LENGTH != 0) return -1;
  return (<i32>length - 1) / ENTRY_LENGTH;
}

/** Whether the shard value of `length` bytes at `start` holds `fp` with an exp after `nowS`. */
export function shardHas(start: usize, length: usize, fp: Uint8Array, nowS: i64): bool {
  if (fp.length != FINGERPRINT_LENGTH) return false;
  const count = entryCountAt(start, length);
  const base = start + 1;
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = base + <usize>mid * ENTRY_LENGTH;
    const c = memory.compare(at, fp.dataStart, <usize>FINGERPRINT_LENGTH);
    if (c == 0) return load<i64>(at + <usize>FINGERPRINT_LENGTH) > nowS;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/** Total: a missing value, another format or any garbage decodes to no entries. */
export function decodeShard(value: ArrayBuffer | null): Revocation[] {
  const out = new Array<Revocation>(0);
  if (value === null) return out;
  const count = entryCount(value);
  const r = new ByteReader(Uint8Array.wrap(value));
  r.u8();
  for (let i = 0; i < count; i++) {
    const fp = r.view(FINGERPRINT_LENGTH);
    out.push(new Revocation(fp, r.i64()));
  }
  return out;
}

/** `entries` must be sorted by fingerprint and distinct, as normalize() and mergeShard() leave them. */
export function encodeShard(entries: Revocation[]): ArrayBuffer {
  const w = new ByteWriter(1 + entries.length * ENTRY_LENGTH);
  w.u8(SHARD_FORMAT);
  for (let i = 0; i < entries.length; i++) {
    const e = unchecked(entries[i]);
    w.bytes(e.fingerprint);
    w.i64(e.exp);
  }
  return w.data.buffer;
}

/** Sorted by fingerprint, one entry per fingerprint (the latest exp), none expired at `nowS`. */
export function normalize(entries: Revocation[], nowS: i64): Revocation[] {
  const live = new Array<Revocation>(0);
  for (let i = 0; i < entries.length; i++) {
    const e = unchecked(entries[i]);
    if (e.exp > nowS && e.fingerprint.length == FINGERPRINT_LENGTH) live.push(e);
  }
  live.sort((a: Revocation, b: Revocation): i32 => compareFingerprints(a.fingerprint, b.fingerprint));
  const out = new Array<Revocation>(0);
  for (let i = 0; i < live.length; i++) {
    const e = unchecked(live[i]);
    const n = out.length;
    if (n > 0 && compareFingerprints(unchecked(out[n - 1]).fingerprint, e.fingerprint) == 0) {
      if (e.exp > unchecked(out[n - 1]).exp) unchecked((out[n - 1] = e));
    } else {
      out.push(e);
    }
  }
  return out;
}

export class ShardMerge {
  constructor(
    readonly value: ArrayBuffer,
    /** False when `value` says what the shard already said: nothing to write. */
    readonly changed: bool,
    /** Live entries left out because the shard was full. */
    readonly dropped: i32,
  ) {}
}

/**
 * The shard `value` with `additions` (normalized) merged in and the entries expired at `nowS`
 * left out. A fingerprint in both keeps the later exp.
 */
export function mergeShard(value: ArrayBuffer | null, additions: Revocation[], nowS: i64): ShardMerge {
  const existing = decodeShard(value);
  let merged = new Array<Revocation>(0);
  let i = 0;
  let j = 0;
  while (i < existing.length || j < additions.length) {
    let next: Revocation;
    if (j >= additions.length) {
      next = unchecked(existing[i++]);
    } else if (i >= existing.length) {
      next = unchecked(additions[j++]);
    } else {
      const a = unchecked(existing[i]);
      const b = unchecked(additions[j]);
      const c = compareFingerprints(a.fingerprint, b.fingerprint);
      if (c < 0) {
        next = a;
        i++;
      } else if (c > 0) {
        next = b;
        j++;
      } else {
        next = a.exp >= b.exp ? a : b;
        i++;
        j++;
      }
    }
    if (next.exp > nowS) merged.push(next);
  }
  let dropped = 0;
  if (merged.length > MAX_SHARD_ENTRIES) {
    dropped = merged.length - MAX_SHARD_ENTRIES;
    merged.sort((a: Revocation, b: Revocation): i32 => (a.exp > b.exp ? -1 : a.exp < b.exp ? 1 : 0));
    merged = merged.slice(0, MAX_SHARD_ENTRIES);
    merged.sort((a: Revocation, b: Revocation): i32 => compareFingerprints(a.fingerprint, b.fingerprint));
  }
  const out = encodeShard(merged);
  // A shard that was never written stays unwritten until it has something to hold.
  const changed = value === null ? merged.length > 0 : !sameBytes(out, value);
  return new ShardMerge(out, changed, dropped);
}

function sameBytes(a: ArrayBuffer, b: ArrayBuffer): bool {
  return a.byteLength == b.byteLength && memory.compare(changetype<usize>(a), changetype<usize>(b), <usize>a.byteLength) == 0;
}

// ---- the feed ------------------------------------------------------------------------------------

export class FeedAnswer {
  constructor(
    readonly ok: bool,
    /** Names the member at fault, never a value; "" when ok. */
    readonly error: string,
    readonly cursor: string,
    /** The live entries of the answer, as they came (normalize before storing). */
    readonly revocations: Revocation[],
  ) {}
}

function malformed(error: string): FeedAnswer {
  return new FeedAnswer(false, "revocation feed answer: " + error, "", []);
}

function isCursor(s: string): bool {
  if (s.length < 1 || s.length > MAX_CURSOR_LENGTH) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Reads a 200 answer, {"cursor": "…", "revoked": [{"key": "…", "exp": <NumericDate>}, …]}. Any
 * member of the wrong type makes the whole answer malformed: the caller keeps its set and cursor
 * and asks again. Unknown members are ignored, so the server may add some. Entries whose exp is
 * not after `nowS`, or whose key is empty or longer than MAX_KEY_LENGTH, are skipped.
 */
export function parseFeed(body: string, nowS: i64): FeedAnswer {
  const parsed = parseJson(body, FEED_MAX_DEPTH, FEED_MAX_LENGTH);
  const root = parsed.value;
  if (root === null) return malformed(parsed.error);
  if (root.kind != JsonKind.Object) return malformed("not a JSON object");
  const cursor = root.get("cursor");
  if (cursor === null || cursor.kind != JsonKind.String || !isCursor(cursor.strValue)) {
    return malformed("cursor: must be 1 to " + MAX_CURSOR_LENGTH.toString() + " characters of printable ASCII without spaces");
  }
  const revoked = root.get("revoked");
  if (revoked === null || revoked.kind != JsonKind.Array) return malformed("revoked: must be an array");
  const out = new Array<Revocation>(0);
  for (let i = 0; i < revoked.size; i++) {
    const e = revoked.at(i);
    if (e === null || e.kind != JsonKind.Object) return malformedEntry(i, ": must be an object");
    const key = e.get("key");
    if (key === null || key.kind != JsonKind.String) return malformedEntry(i, ".key: must be a string");
    const exp = e.get("exp");
    if (exp === null || !isNumericDate(exp)) return malformedEntry(i, ".exp: must be a NumericDate");
    const expS = <i64>Math.floor(exp.numValue);
    const k = key.strValue;
    if (expS <= nowS || k.length == 0 || k.length > MAX_KEY_LENGTH) continue;
    out.push(new Revocation(fingerprint(k), expS));
  }
  return new FeedAnswer(true, "", cursor.strValue, out);
}

function malformedEntry(i: i32, what: string): FeedAnswer {
  return malformed("revoked[" + i.toString() + "]" + what);
}

function isNumericDate(v: JsonValue): bool {
  const n = v.numValue;
  return v.kind == JsonKind.Number && isFinite(n) && n >= 0 && n <= MAX_NUMERIC_DATE;
}

/** The body as dispatch_http_call delivers it: UTF-8 bytes. */
export function parseFeedBytes(body: ArrayBuffer, nowS: i64): FeedAnswer {
  if (body.byteLength > FEED_MAX_LENGTH) return malformed("longer than " + FEED_MAX_LENGTH.toString() + " bytes");
  const text = decodeUtf8(body);
  if (!text.ok) return malformed(text.error);
  return parseFeed(text.text, nowS);
}

/** The feed's :path for a poll from `cursor`; without one the feed answers with the whole set. */
export function feedPath(path: string, cursor: string): string {
  return cursor.length == 0 ? path : path + "?since=" + formUrlEncode(cursor);
}

// ---- who polls, and when -------------------------------------------------------------------------

export class PollState {
  /** When the next poll is due (ms since the epoch). */
  dueAt: i64 = 0;
  /** Until when a worker's poll is in flight: its lease. 0 when none is. */
  busyUntil: i64 = 0;
  /** The shard the next poll sweeps of expired entries. */
  sweep: i32 = 0;
  /** The feed's cursor after the last answer merged; "" before the first. */
  cursor: string = "";
}

export function encodeState(s: PollState): ArrayBuffer {
  const w = new ByteWriter(1 + 8 + 8 + 2 + string16Size(s.cursor));
  w.u8(STATE_FORMAT);
  w.i64(s.dueAt);
  w.i64(s.busyUntil);
  w.u16(<u32>s.sweep);
  w.string16(s.cursor);
  return w.data.buffer;
}

export function decodeState(value: ArrayBuffer | null): PollState {
  const s = new PollState();
  if (value === null) return s;
  const r = new ByteReader(Uint8Array.wrap(value));
  const format = r.u8();
  const dueAt = r.i64();
  const busyUntil = r.i64();
  const sweep = <i32>r.u16();
  const cursor = r.string16();
  if (!r.done() || format != STATE_FORMAT || sweep >= SHARD_COUNT || (cursor.length > 0 && !isCursor(cursor))) return s;
  s.dueAt = dueAt;
  s.busyUntil = busyUntil;
  s.sweep = sweep;
  s.cursor = cursor;
  return s;
}

// A tick that the timer delivers a little before the due time (clock rounding, NTP slewing the
// wall clock against the timer's monotonic one) still polls, rather than a whole period later.
const DUE_SLACK_MS: i64 = 5;

/** Whether a worker may take the lease and poll at `nowMs`. */
export function pollDue(s: PollState, nowMs: i64): bool {
  return s.busyUntil <= nowMs && s.dueAt <= nowMs + DUE_SLACK_MS;
}

/** When the poll after one that was due at `dueAt` is due: at a fixed rate, but never in the past. */
export function nextDue(dueAt: i64, nowMs: i64, pollMs: i64): i64 {
  const next = dueAt + pollMs;
  return next > nowMs ? next : nowMs + pollMs;
}
