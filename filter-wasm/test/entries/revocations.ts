// Test entry for revocations.ts: shard values cross the boundary encoded, as they sit in shared
// data; entries to merge as the same 24-byte records without the format byte; feed answers out as JSON.
import {
  decodeShard, decodeState, encodeState, feedPath, fingerprint, mergeShard, nextDue, normalize, parseFeed, parseFeedBytes,
  pollDue, shardHas, shardKey, shardOf, FeedAnswer, PollState, Revocation, FINGERPRINT_LENGTH,
} from "../../assembly/revocations";
import { ByteReader } from "../../assembly/bytes";
import { toHex } from "../../assembly/hex";
import { jsonString as q } from "../../assembly/filter/denial";

let dropped = 0;
let changed = false;

export function fp(key: string): ArrayBuffer {
  return fingerprint(key).slice().buffer;
}

export function shardKeyOf(key: string): string {
  return shardKey(shardOf(fingerprint(key)));
}

function records(buf: ArrayBuffer): Revocation[] {
  const out = new Array<Revocation>(0);
  const r = new ByteReader(Uint8Array.wrap(buf));
  while (r.remaining() >= FINGERPRINT_LENGTH + 8) {
    const f = r.view(FINGERPRINT_LENGTH);
    out.push(new Revocation(f, r.i64()));
  }
  return out;
}

/** Merges `additions` (records, in any order, duplicates allowed) as the poller does. */
export function merge(value: ArrayBuffer | null, additions: ArrayBuffer, nowS: i64): ArrayBuffer {
  const m = mergeShard(value, normalize(records(additions), nowS), nowS);
  dropped = m.dropped;
  changed = m.changed;
  return m.value;
}

export function lastDropped(): i32 {
  return dropped;
}

export function lastChanged(): bool {
  return changed;
}

export function has(value: ArrayBuffer | null, f: ArrayBuffer, nowS: i64): bool {
  return value !== null && shardHas(changetype<usize>(value), <usize>value.byteLength, Uint8Array.wrap(f), nowS);
}

export function decodedCount(value: ArrayBuffer | null): i32 {
  return decodeShard(value).length;
}


function dump(a: FeedAnswer): string {
  if (!a.ok) return "{\"ok\":false,\"error\":" + q(a.error) + "}";
  const parts = new Array<string>();
  for (let i = 0; i < a.revocations.length; i++) {
    const r = a.revocations[i];
    parts.push("[" + q(toHex(r.fingerprint)) + "," + r.exp.toString() + "]");
  }
  return "{\"ok\":true,\"cursor\":" + q(a.cursor) + ",\"entries\":[" + parts.join(",") + "]}";
}

export function parse(body: string, nowS: i64): string {
  return dump(parseFeed(body, nowS));
}

export function parseBytes(body: ArrayBuffer, nowS: i64): string {
  return dump(parseFeedBytes(body, nowS));
}

export function path(p: string, cursor: string): string {
  return feedPath(p, cursor);
}

export function encodeStateOf(dueAt: i64, busyUntil: i64, sweep: i32, cursor: string): ArrayBuffer {
  const s = new PollState();
  s.dueAt = dueAt;
  s.busyUntil = busyUntil;
  s.sweep = sweep;
  s.cursor = cursor;
  return encodeState(s);
}

export function decodeStateOf(value: ArrayBuffer | null): string {
  const s = decodeState(value);
  return "{\"dueAt\":" + s.dueAt.toString() + ",\"busyUntil\":" + s.busyUntil.toString() + ",\"sweep\":" + s.sweep.toString() +
    ",\"cursor\":" + q(s.cursor) + "}";
}

export function due(value: ArrayBuffer | null, nowMs: i64): bool {
  return pollDue(decodeState(value), nowMs);
}

export function next(dueAt: i64, nowMs: i64, pollMs: i64): i64 {
  return nextDue(dueAt, nowMs, pollMs);
}
