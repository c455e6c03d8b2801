// The revocation feed's poller and the revoked set in shared data (revocations.ts decides what the
// values hold). Every worker VM ticks, but only the one whose CAS on the poll state takes the lease
// polls in a period; every worker reads the same shards on every request.
//
// Envoy's CAS protects only keys that exist (a write to a missing key always succeeds), so the
// poll state key is written at configuration when missing, and the lease is taken only with the
// CAS of a value read back: of the workers that find a poll due, one wins. Shards are written only
// by the lease holder, read-modify-CAS; it creates a missing one with an unconditional write.
//
// Ordering keeps the set complete: a poller merges an answer into the shards before it moves the
// cursor, so a poller that dies half-way leaves the old cursor, and the next one fetches the same
// entries again (merging is idempotent).
import { RevocationFeed } from "../config";
import {
  decodeState, encodeState, feedPath, fingerprint, mergeShard, nextDue, normalize, parseFeedBytes, pollDue, shardHas,
  shardKey, shardOf, PollState, Revocation, FEED_MAX_LENGTH, SHARD_COUNT, SHARD_PREFIX, STATE_KEY,
} from "../revocations";
import {
  getBuffer, getHeader, getShared, httpCall, incrementMetric, log, nowMs, readSharedIndexedInto, setShared,
  BUFFER_HTTP_CALL_RESPONSE_BODY, HTTP_CALL_RESPONSE_HEADERS, LOG_ERROR, LOG_INFO, LOG_WARN, NOT_FOUND, OK,
} from "../abi/host";
import { ReusedBuffer } from "../abi/memory";
import { Metrics } from "./metrics";

export enum RevokedAnswer {
  No,
  Yes,
  /** The proxy would not hand the shard over: nobody can say, so the request must not pass. */
  Unreadable,
}

// Every allowed request reads its shard, 24 bytes per revocation in it: into one reused buffer.
const SHARD_READS = new ReusedBuffer(1024);

const MAX_CAS_ATTEMPTS = 8;
/** How long past its call's timeout a lease lasts: long enough for the answer to be merged. */
const LEASE_MARGIN_MS: i64 = 1000;

export class RevocationPoller {
  /** Set by this VM's first tick; until then the root ticks fast, so a new proxy loads the set at once. */
  started: bool = false;
  private calling: bool = false;
  private callToken: u32 = 0;
  /** What this worker read when it took the lease. */
  private leaseDue: i64 = 0;
  private leaseUntil: i64 = 0;
  private sweep: i32 = 0;
  private sentCursor: string = "";
  /** The last poll failed: logged once, until one succeeds again. */
  private failing: bool = false;

  constructor(readonly feed: RevocationFeed, readonly metrics: Metrics) {}

  init(): void {
    if (getShared(STATE_KEY).status == NOT_FOUND) setShared(STATE_KEY, encodeState(new PollState()), 0);
  }

  /** Whether the feed has revoked `key` (an API token's SHA-256 hex or an access token's jti). */
  isRevoked(key: string, now: i64): bool {
    return key.length > 0 && this.revocationOf(fingerprint(key), now) == RevokedAnswer.Yes;
  }

  /** What the revoked set says of the key with this fingerprint; an empty one is never revoked. */
  revocationOf(fp: Uint8Array, now: i64): RevokedAnswer {
    if (fp.length == 0) return RevokedAnswer.No;
    const status = readSharedIndexedInto(SHARD_READS, SHARD_PREFIX, <u32>shardOf(fp));
    if (status == NOT_FOUND) return RevokedAnswer.No;
    if (status != OK) return RevokedAnswer.Unreadable;
    return shardHas(SHARD_READS.start, SHARD_READS.length, fp, now / 1000) ? RevokedAnswer.Yes : RevokedAnswer.No;
  }

  owns(token: u32): bool {
    return this.calling && token == this.callToken;
  }

  /** Polls if a poll is due and nobody else is at it. */
  tick(now: i64): void {
    this.started = true;
    if (this.calling) return;
    const v = getShared(STATE_KEY);
    if (v.status == NOT_FOUND) this.init();
    if (v.status != OK) return;
    const state = decodeState(v.value);
    if (!pollDue(state, now)) return;
    this.leaseDue = state.dueAt;
    this.leaseUntil = now + <i64>this.feed.timeoutMs + LEASE_MARGIN_MS;
    this.sweep = state.sweep;
    this.sentCursor = state.cursor;
    state.busyUntil = this.leaseUntil;
    if (setShared(STATE_KEY, encodeState(state), v.cas) != OK) return;

    this.metrics.inc(this.metrics.revocationPolls);
    const f = this.feed;
    const call = httpCall(
      f.cluster, [":method", ":path", ":authority", "accept"], ["GET", feedPath(f.path, state.cursor), f.authority, "application/json"],
      "", <u32>f.timeoutMs,
    );
    if (call.status != OK) {
      this.failed("cannot call cluster " + f.cluster + " (host status " + call.status.toString() + ")");
      this.release(now, false, "");
      return;
    }
    this.calling = true;
    this.callToken = call.token;
  }

  onResponse(headerCount: u32, bodySize: u32): void {
    this.calling = false;
    const now = nowMs();
    // Envoy reports a failed or timed-out call as a response without headers.
    const header: string | null = headerCount == 0 ? null : getHeader(HTTP_CALL_RESPONSE_HEADERS, ":status");
    const status: string = header === null ? "" : header;
    if (status == "304") {
      this.succeeded();
      this.release(now, false, "");
      return;
    }
    if (status != "200") {
      this.failed(status.length == 0 ? "no response (timeout or connection failure)" : "status " + status);
      this.release(now, false, "");
      return;
    }
    if (bodySize > <u32>FEED_MAX_LENGTH) {
      this.failed("answer longer than " + FEED_MAX_LENGTH.toString() + " bytes");
      this.release(now, false, "");
      return;
    }
    const body = getBuffer(BUFFER_HTTP_CALL_RESPONSE_BODY, 0, bodySize);
    const answer = parseFeedBytes(body === null ? new ArrayBuffer(0) : body, now / 1000);
    if (!answer.ok) {
      this.failed(answer.error);
      this.release(now, false, "");
      return;
    }
    if (!this.merge(answer.revocations, now)) {
      this.failed("could not write the revoked set: the proxy refused its shared data, or other workers kept winning the races");
      this.release(now, false, "");
      return;
    }
    this.succeeded();
    this.release(now, true, answer.cursor);
  }

  /** Merges the entries into their shards; false when some shard could not be written. */
  private merge(entries: Revocation[], now: i64): bool {
    const nowS = now / 1000;
    const sorted = normalize(entries, nowS);
    // Sorted by fingerprint means grouped by shard: one write per shard touched.
    let start = 0;
    while (start < sorted.length) {
      const shard = shardOf(unchecked(sorted[start]).fingerprint);
      let end = start + 1;
      while (end < sorted.length && shardOf(unchecked(sorted[end]).fingerprint) == shard) end++;
      if (!this.mergeInto(shard, sorted.slice(start, end), nowS)) return false;
      start = end;
    }
    return true;
  }

  private mergeInto(shard: i32, additions: Revocation[], nowS: i64): bool {
    const key = shardKey(shard);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const v = getShared(key);
      if (v.status != OK && v.status != NOT_FOUND) return false;
      const m = mergeShard(v.value, additions, nowS);
      if (!m.changed) return true;
      if (setShared(key, m.value, v.cas) == OK) {
        if (m.dropped > 0) {
          incrementMetric(this.metrics.revocationsDropped, m.dropped);
          log(LOG_ERROR, "altgate: revoked set shard " + shard.toString() + " is full: dropped the " + m.dropped.toString() + " entries expiring soonest");
        }
        return true;
      }
    }
    return false;
  }

  /**
   * Gives the lease back and schedules the next poll. The cursor moves only if nobody moved it
   * meanwhile (a worker that took over after this lease expired may have gone further). Each
   * poll, answered or not, also sweeps one shard of its expired entries, so that a shard no new
   * revocation touches does not keep them.
   */
  private release(now: i64, advance: bool, cursor: string): void {
    this.mergeInto(this.sweep, [], now / 1000);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const v = getShared(STATE_KEY);
      if (v.status != OK) return;
      const s = decodeState(v.value);
      if (advance && s.cursor == this.sentCursor) s.cursor = cursor;
      if (s.busyUntil == this.leaseUntil) {
        s.busyUntil = 0;
        s.dueAt = nextDue(this.leaseDue, now, <i64>this.feed.pollMs);
        s.sweep = (this.sweep + 1) % SHARD_COUNT;
      }
      if (setShared(STATE_KEY, encodeState(s), v.cas) == OK) return;
    }
  }

  private failed(why: string): void {
    this.metrics.inc(this.metrics.revocationPollFailures);
    if (!this.failing) log(LOG_WARN, "altgate: revocation feed poll failed, keeping the revoked set as it is: " + why);
    this.failing = true;
  }

  private succeeded(): void {
    if (this.failing) log(LOG_INFO, "altgate: revocation feed polled again");
    this.failing = false;
  }
}
