// The filter's root context: configuration, the shared cache, outgoing introspection calls and
// the requests waiting on them, and the revocation feed's poller. One per worker VM; the cache and
// the revoked set it uses are shared by all of them.
import { Config, parseConfigBytes } from "../config";
import { HmacSha256 } from "../hmac";
import { IdentityHeaderNames, prepareIdentityHeaders, serializeIdentity, Identity } from "../identity";
import { parseIntrospectionBytes, validateIdentity } from "../introspection";
import { EntryKind, LookupKind, LookupResult, negativeExpiry, positiveExpiry } from "../cache";
import { IdentityMemo, MemoEntry } from "../memo";
import { fingerprint } from "../revocations";
import {
  getBuffer, getHeader, httpCall, log, nowMs, randomBytes, setEffectiveContext, setTickPeriod,
  BUFFER_HTTP_CALL_RESPONSE_BODY, BUFFER_PLUGIN_CONFIGURATION, HTTP_CALL_RESPONSE_HEADERS,
  LOG_CRITICAL, LOG_DEBUG, LOG_WARN, OK,
} from "../abi/host";
import { SharedCache } from "./shared-cache";
import { Issuers, Issuer } from "./issuer";
import { Metrics } from "./metrics";
import { RevocationPoller, RevokedAnswer } from "./revocation-feed";
import { AltgateStream, Verdict } from "./stream";

/** How often requests waiting on another worker's introspection re-read the shared cache. */
const WAIT_POLL_MS: u32 = 5;

class InFlight {
  waiters: AltgateStream[] = [];
  constructor(readonly hash: Uint8Array, readonly hashHex: string, readonly tokenKind: string) {}
}

/** Requests that wait for another worker's call, by token hash. */
class RemoteWait {
  waiters: AltgateStream[] = [];
  constructor(readonly hash: Uint8Array) {}
}

export class AltgateRoot {
  config: Config = new Config();
  issuers: Issuers = new Issuers();
  cache: SharedCache = new SharedCache(1, 0);
  headerNames: IdentityHeaderNames = new IdentityHeaderNames("x-altgate-");
  hmac: HmacSha256 | null = null;
  metrics: Metrics = new Metrics();
  memo: IdentityMemo = new IdentityMemo(null);
  /** null when no revocation feed is configured. */
  revocations: RevocationPoller | null = null;
  configured: bool = false;

  /** Calls this worker has in flight, by the token the host gave the call. */
  private calls: Map<u32, InFlight> = new Map();
  /** The same calls by token hash, so local requests with the same token join instead of calling. */
  private callsByHash: Map<string, InFlight> = new Map();
  private remoteWaits: Map<string, RemoteWait> = new Map();
  // Envoy restarts the tick timer on every proxy_set_tick_period_milliseconds: setting it again
  // for each new waiter would keep postponing the tick, so it is set only when it changes.
  private tickPeriod: u32 = 0;

  constructor(readonly context_id: u32) {}

  onConfigure(configuration_size: u32): bool {
    const raw = getBuffer(BUFFER_PLUGIN_CONFIGURATION, 0, configuration_size);
    const parsed = parseConfigBytes(raw === null ? new ArrayBuffer(0) : raw);
    const config = parsed.config;
    if (!parsed.ok || config === null) {
      // Returning false makes Envoy refuse the plugin: no request is ever served unauthenticated.
      log(LOG_CRITICAL, "altgate: invalid configuration: " + parsed.error);
      return false;
    }
    this.config = config;
    this.issuers = Issuers.from(config);
    this.metrics = Metrics.define();
    this.cache = new SharedCache(config.cache.maxEntries, this.metrics.cacheEvictions);
    this.cache.init();
    this.headerNames = new IdentityHeaderNames(config.identity.headerPrefix);
    // Memo entries hold headers made with the previous configuration's prefix; a new key also
    // makes every old tag meaningless.
    const key = randomBytes(16);
    if (key === null) log(LOG_WARN, "altgate: the host gave no random bytes: the per-worker memo is off");
    this.memo = new IdentityMemo(key);
    this.hmac = config.identity.hmacKey.length > 0 ? new HmacSha256(Uint8Array.wrap(String.UTF8.encode(config.identity.hmacKey))) : null;
    const feed = config.revocations;
    let poller: RevocationPoller | null = null;
    if (feed !== null) {
      poller = new RevocationPoller(feed, this.metrics);
      poller.init();
    }
    this.revocations = poller;
    this.scheduleTicks();
    this.configured = true;
    return true;
  }

  /**
   * Whether the revocation feed is known to have revoked `key`; never, when no feed is configured.
   * An unreadable set answers false here: allow() asks again and refuses then.
   */
  isRevoked(key: string): bool {
    const poller = this.revocations;
    return poller !== null && poller.isRevoked(key, nowMs());
  }

  /** What the revoked set says of a key already fingerprinted (revocations.fingerprint); empty: nothing to revoke. */
  revocationOf(fp: Uint8Array, now: i64): RevokedAnswer {
    const poller = this.revocations;
    return poller === null ? RevokedAnswer.No : poller.revocationOf(fp, now);
  }

  /**
   * The memo entry for `identity`, the token's active answer until `expiresAt` (the shared cache
   * entry's expiry), kept for the token's next requests on this worker. An identity the cache does
   * not hold (expiresAt 0) gets an entry for this request only.
   */
  memoize(tagLo: u64, tagHi: u64, expiresAt: i64, identity: Identity, hashHex: string, now: i64): MemoEntry {
    const known = this.memo.find(tagLo, tagHi, now);
    if (known !== null && known.expiresAt == expiresAt) return known;
    const key = identity.tokenKind == "api-token" ? hashHex : identity.tokenId;
    const fp = key.length > 0 ? fingerprint(key) : new Uint8Array(0);
    const entry = new MemoEntry(tagLo, tagHi, expiresAt, identity, prepareIdentityHeaders(identity, this.headerNames), fp);
    if (expiresAt > now) this.memo.remember(entry);
    return entry;
  }

  /**
   * Starts (or joins) the introspection of `token` for `stream`. Returns a verdict at once when
   * the request cannot wait (issuer unknown or unreachable); null when the stream must pause.
   */
  introspect(stream: AltgateStream, token: string, hash: Uint8Array, hashHex: string): Verdict | null {
    // AssemblyScript's Map.get aborts on a missing key: always has() first.
    if (this.callsByHash.has(hashHex)) {
      this.callsByHash.get(hashHex).waiters.push(stream);
      this.metrics.inc(this.metrics.coalesced);
      return null;
    }
    const issuer = this.issuers.forToken(token);
    if (issuer === null) return Verdict.invalid("no issuer is configured for this kind of token");
    const now = nowMs();
    const claim = this.cache.claim(hash, now, now + <i64>issuer.timeoutMs + 1000);
    if (!claim.claimed) {
      if (claim.current.kind == LookupKind.Pending) {
        this.waitForOtherWorker(stream, hash, hashHex);
        this.metrics.inc(this.metrics.coalesced);
        return null;
      }
      return this.verdictFromCache(claim.current);
    }
    return this.dispatch(stream, issuer, token, hash, hashHex);
  }

  private dispatch(stream: AltgateStream, issuer: Issuer, token: string, hash: Uint8Array, hashHex: string): Verdict | null {
    this.metrics.inc(this.metrics.introspectionCalls);
    const call = httpCall(issuer.cluster, issuer.requestHeaderNames(), issuer.requestHeaderValues(), issuer.requestBody(token), issuer.timeoutMs);
    if (call.status != OK) {
      this.metrics.inc(this.metrics.introspectionFailures);
      this.cache.release(hash, nowMs());
      log(LOG_WARN, "altgate: cannot call issuer cluster " + issuer.cluster + " (host status " + call.status.toString() + ")");
      return Verdict.unavailable("the token issuer cannot be reached");
    }
    const inFlight = new InFlight(hash, hashHex, issuer.tokenKind);
    inFlight.waiters.push(stream);
    this.calls.set(call.token, inFlight);
    this.callsByHash.set(hashHex, inFlight);
    return null;
  }

  onHttpCallResponse(token: u32, headers: u32, body_size: u32, _trailers: u32): void {
    const poller = this.revocations;
    if (poller !== null && poller.owns(token)) {
      poller.onResponse(headers, body_size);
      return;
    }
    if (!this.calls.has(token)) return;
    const inFlight = this.calls.get(token);
    this.calls.delete(token);
    this.callsByHash.delete(inFlight.hashHex);
    const verdict = this.judgeResponse(inFlight, headers, body_size);
    this.wake(inFlight.waiters, verdict);
  }

  /** Turns the issuer's answer into a verdict and records it in the shared cache. */
  private judgeResponse(inFlight: InFlight, headerCount: u32, bodySize: u32): Verdict {
    const now = nowMs();
    // Envoy reports a failed or timed-out call as a response without headers.
    const status = headerCount == 0 ? "" : getHeader(HTTP_CALL_RESPONSE_HEADERS, ":status");
    if (status === null || status != "200") {
      this.metrics.inc(this.metrics.introspectionFailures);
      this.cache.release(inFlight.hash, now);
      const what = status === null || status.length == 0 ? "no response (timeout or connection failure)" : "status " + status;
      log(LOG_WARN, "altgate: introspection failed: " + what);
      return Verdict.unavailable("the token issuer did not answer");
    }
    const body = getBuffer(BUFFER_HTTP_CALL_RESPONSE_BODY, 0, bodySize);
    const issuer = inFlight.tokenKind == "api-token" ? this.issuers.apiTokens : this.issuers.keycloak;
    const audience = issuer === null ? "" : issuer.audience;
    const result = parseIntrospectionBytes(body === null ? new ArrayBuffer(0) : body, audience);
    if (result.unreadable) {
      this.metrics.inc(this.metrics.introspectionFailures);
      this.cache.release(inFlight.hash, now);
      log(LOG_WARN, "altgate: the issuer's answer is not an introspection response: " + result.error);
      return Verdict.unavailable("the token issuer gave an unreadable answer");
    }
    const why = validateIdentity(result, now / 1000, issuer === null ? "" : issuer.expectedIssuer, audience);
    if (why.length > 0) {
      this.cache.store(inFlight.hash, EntryKind.Negative, negativeExpiry(now, this.config.cache.negativeTtlS), new Uint8Array(0), now);
      log(LOG_DEBUG, "altgate: token refused by introspection: " + why);
      return Verdict.invalid(why);
    }
    const identity = new Identity();
    identity.subject = result.sub;
    identity.username = result.username;
    identity.client = result.clientId;
    identity.roles = result.roles;
    identity.scopes = result.scopes;
    identity.tokenKind = inFlight.tokenKind;
    identity.tokenId = result.jti;
    const payload = serializeIdentity(identity);
    if (payload === null) {
      this.cache.release(inFlight.hash, now);
      return Verdict.active(identity, 0);
    }
    const expiresAt = positiveExpiry(now, result.exp, this.config.cache.positiveTtlS);
    this.cache.store(inFlight.hash, EntryKind.Positive, expiresAt, payload, now);
    return Verdict.active(identity, expiresAt);
  }

  verdictFromCache(cached: LookupResult): Verdict {
    if (cached.kind == LookupKind.Negative) return Verdict.invalid("the token is not active");
    return Verdict.fromPayload(cached);
  }

  private waitForOtherWorker(stream: AltgateStream, hash: Uint8Array, hashHex: string): void {
    if (!this.remoteWaits.has(hashHex)) this.remoteWaits.set(hashHex, new RemoteWait(hash));
    this.remoteWaits.get(hashHex).waiters.push(stream);
    this.scheduleTicks();
  }

  /**
   * One tick serves both of its uses: every WAIT_POLL_MS while requests wait on another worker (or
   * until the first look at the revocation feed), otherwise every poll_ms so that the worker can
   * take its turn at the feed; none when neither applies. Polls go by the due time in shared data,
   * not by tick count, so a fast tick does not poll faster.
   */
  private scheduleTicks(): void {
    const poller = this.revocations;
    let period: u32 = 0;
    if (this.remoteWaits.size > 0 || (poller !== null && !poller.started)) period = WAIT_POLL_MS;
    else if (poller !== null) period = <u32>poller.feed.pollMs;
    if (period == this.tickPeriod) return;
    this.tickPeriod = period;
    setTickPeriod(period);
  }

  onTick(): void {
    const keys = this.remoteWaits.keys();
    const now = nowMs();
    for (let i = 0; i < keys.length; i++) {
      const hashHex = unchecked(keys[i]);
      const wait = this.remoteWaits.get(hashHex);
      const current = this.cache.lookup(wait.hash, now);
      if (current.kind == LookupKind.Pending) continue;
      this.remoteWaits.delete(hashHex);
      if (current.kind == LookupKind.Miss) {
        // The other worker gave up (failure or deadline): the first waiter calls, the rest join it.
        this.retakeOver(wait);
        continue;
      }
      this.wake(wait.waiters, this.verdictFromCache(current));
    }
    const poller = this.revocations;
    if (poller !== null) poller.tick(now);
    this.scheduleTicks();
  }

  private retakeOver(wait: RemoteWait): void {
    const waiters = wait.waiters;
    for (let i = 0; i < waiters.length; i++) {
      const s = unchecked(waiters[i]);
      if (setEffectiveContext(s.context_id) != OK) continue;
      s.retry();
    }
  }

  private wake(waiters: AltgateStream[], verdict: Verdict): void {
    for (let i = 0; i < waiters.length; i++) {
      const s = unchecked(waiters[i]);
      // A request whose client went away has no context left to resume.
      if (setEffectiveContext(s.context_id) != OK) continue;
      s.resume(verdict);
    }
  }
}
