// One request through the filter: strip identity headers, match the route, extract the bearer
// token, consult the shared cache or the issuer, check the revoked set, authorize, and hand a
// trusted identity upstream.
import { hasTokenSyntax, locateBearer, BearerKind, BAD_TOKEN_SYNTAX } from "../bearer";
import { matchRoute, authorize, Decision, DecisionKind } from "../rules";
import { sha256At } from "../sha256";
import { toHex } from "../hex";
import { deserializeIdentity, isIdentityHeaderBytes, Identity } from "../identity";
import { LookupKind, LookupResult } from "../cache";
import { MemoEntry } from "../memo";
import {
  continueRequest, getHeader, headerPairs, latin1, nowMs, removeAuthorization, removeHeaderBytes, replaceHeaderBytes,
  sendLocalResponse, OK, REQUEST_HEADERS,
} from "../abi/host";
import {
  Denial, badPath, challenge, denialBody, forbidden, proxyRefused, invalidToken, issuerUnavailable,
  malformedAuthorization, missingToken, noRule, revoked, RETRY_AFTER_S,
} from "./denial";
import { RevokedAnswer } from "./revocation-feed";
import { AltgateRoot } from "./root";

export enum VerdictKind {
  Active,
  Invalid,
  Unavailable,
}

/** What authentication concluded about a token. */
export class Verdict {
  constructor(
    readonly kind: VerdictKind,
    readonly identity: Identity | null,
    readonly reason: string,
    /** Until when the shared cache holds this answer; 0 when it is not cached. */
    readonly expiresAt: i64 = 0,
  ) {}

  static active(identity: Identity, expiresAt: i64): Verdict {
    return new Verdict(VerdictKind.Active, identity, "", expiresAt);
  }

  static invalid(reason: string): Verdict {
    return new Verdict(VerdictKind.Invalid, null, reason);
  }

  static unavailable(reason: string): Verdict {
    return new Verdict(VerdictKind.Unavailable, null, reason);
  }

  static fromPayload(cached: LookupResult): Verdict {
    const identity = deserializeIdentity(cached.payload);
    return identity === null ? Verdict.invalid("the cached identity is unreadable") : Verdict.active(identity, cached.expiresAt);
  }
}

// proxy-wasm's FilterHeadersStatus values.
const CONTINUE: u32 = 0;
const STOP: u32 = 1;

// A stream is created per request: its fields start from shared values, not fresh objects.
const NO_ROUTE = new Decision(DecisionKind.NoRuleMatched, -1, "");
const NO_HASH = new Uint8Array(0);

export class AltgateStream {
  private route: Decision = NO_ROUTE;
  // Held only while the request waits for an introspection result; never logged or cached.
  private token: string = "";
  private hash: Uint8Array = NO_HASH;
  // Only API tokens and cache misses need the hex form; "" until one of them asks for it.
  private hashHexCache: string = "";
  // The token's tag in this worker's memo.
  private tagLo: u64 = 0;
  private tagHi: u64 = 0;

  constructor(readonly context_id: u32, readonly root: AltgateRoot) {}

  onRequestHeaders(_headers: u32, _end_of_stream: bool): u32 {
    const root = this.root;
    const prefix = root.config.identity.headerPrefix;
    // One pass over the pairs as the host serialised them: names are compared as bytes, the
    // token is checked and hashed where it lies, and only the method and path become strings.
    const pairs = headerPairs(REQUEST_HEADERS);
    if (!pairs.readable) return this.deny(proxyRefused("the proxy did not hand over the request's headers"));
    let stripped = true;
    let authorizations = 0;
    let authorization: usize = 0;
    let authorizationLength = 0;
    let method: string | null = null;
    let path: string | null = null;
    while (pairs.next()) {
      const name = pairs.namePtr;
      const nameLen = pairs.nameLen;
      // Whatever the client claims about its identity is removed before anything else, on every route.
      if (isIdentityHeaderBytes(name, nameLen, prefix)) stripped = removeHeaderBytes(REQUEST_HEADERS, name, nameLen) == OK && stripped;
      else if (nameIs(name, nameLen, "authorization", true)) {
        if (authorizations++ == 0) {
          authorization = pairs.valuePtr;
          authorizationLength = <i32>min<usize>(pairs.valueLen, <usize>i32.MAX_VALUE);
        }
      }
      // The first value of a name is the one a lookup by name would give.
      else if (method === null && nameIs(name, nameLen, ":method", false)) method = latin1(pairs.valuePtr, pairs.valueLen);
      else if (path === null && nameIs(name, nameLen, ":path", false)) path = latin1(pairs.valuePtr, pairs.valueLen);
    }

    if (!stripped) return this.deny(proxyRefused("the proxy did not remove a client-supplied identity header"));

    this.route = matchRoute(root.config.rules, method === null ? "" : method, path === null ? "" : path);
    if (this.route.kind == DecisionKind.BadPath) return this.deny(badPath(this.route.reason));
    if (this.route.kind == DecisionKind.Public) {
      // A public upstream has no use for credentials; they are not passed on where they need not go.
      if (root.config.identity.stripAuthorization && removeAuthorization(REQUEST_HEADERS) != OK) return this.deny(authorizationKept());
      root.metrics.inc(root.metrics.publicRoutes);
      return CONTINUE;
    }

    const bearer = locateBearer(authorizations, authorization, authorizationLength);
    if (bearer.kind == BearerKind.Missing) return this.deny(missingToken());
    if (bearer.kind == BearerKind.Malformed) return this.deny(malformedAuthorization(bearer.reason));
    const token = authorization + <usize>bearer.offset;
    const now = nowMs();
    const memo = root.memo;
    memo.tag(token, bearer.length);
    this.tagLo = memo.lastLo;
    this.tagHi = memo.lastHi;
    const known = memo.find(this.tagLo, this.tagHi, now);
    // The memo holds only tokens that passed this check, and its tag stands for exactly these bytes:
    // a token it knows needs no second scan.
    if (known === null && !hasTokenSyntax(token, bearer.length)) return this.deny(malformedAuthorization(BAD_TOKEN_SYNTAX));
    // Nothing the token could say would open a route no rule allows: refuse without asking the issuer.
    if (this.route.kind == DecisionKind.NoRuleMatched && !root.config.defaultAllow) return this.deny(noRule());
    if (known !== null) {
      root.metrics.inc(root.metrics.cacheHits);
      return this.allow(known, now);
    }
    this.hash = sha256At(token, bearer.length);
    this.hashHexCache = "";
    const cached = root.cache.lookup(this.hash, now);
    if (isAnswer(cached)) return this.fromCache(cached);
    // Only a miss needs the token itself, to ask the issuer; it is kept until the answer comes.
    this.token = latin1(token, <usize>bearer.length);
    return this.miss();
  }

  private hashHex(): string {
    if (this.hashHexCache.length == 0) this.hashHexCache = toHex(this.hash);
    return this.hashHexCache;
  }

  private fromCache(cached: LookupResult): u32 {
    const root = this.root;
    root.metrics.inc(root.metrics.cacheHits);
    return this.finish(root.verdictFromCache(cached));
  }

  /** The root introspects (or joins a call in flight) and we pause, unless it can answer at once. */
  private miss(): u32 {
    const root = this.root;
    root.metrics.inc(root.metrics.cacheMisses);
    // An API token's revocation key is its own hash, known before the issuer is asked: a revoked
    // one costs no introspection call.
    if (root.issuers.isApiToken(this.token) && root.isRevoked(this.hashHex())) return this.deny(revoked());
    const verdict = root.introspect(this, this.token, this.hash, this.hashHex());
    if (verdict !== null) return this.finish(verdict);
    return STOP;
  }

  /** Called by the root, with this stream as the effective context, once a verdict is known. */
  resume(verdict: Verdict): void {
    if (this.finish(verdict) == CONTINUE) continueRequest();
  }

  /** Called by the root when the worker this request waited on gave up: start over from the cache. */
  retry(): void {
    const now = nowMs();
    const cached = this.root.cache.lookup(this.hash, now);
    if ((isAnswer(cached) ? this.fromCache(cached) : this.miss()) == CONTINUE) continueRequest();
  }

  private finish(verdict: Verdict): u32 {
    this.token = "";
    if (verdict.kind == VerdictKind.Unavailable) return this.deny(issuerUnavailable(verdict.reason));
    const identity = verdict.identity;
    if (verdict.kind != VerdictKind.Active || identity === null) return this.deny(invalidToken(verdict.reason));
    const now = nowMs();
    return this.allow(this.root.memoize(this.tagLo, this.tagHi, verdict.expiresAt, identity, this.hashHex(), now), now);
  }

  private allow(known: MemoEntry, now: i64): u32 {
    const root = this.root;
    // Checked on every allow, cached identities included: the cache may hold a token's positive
    // answer for positive_ttl_s, and a revocation must not wait for it to run out. The entry stays
    // cached; every later request finds the revocation the same way, without a new introspection.
    const revocation = root.revocationOf(known.revocationFingerprint, now);
    if (revocation == RevokedAnswer.Yes) return this.deny(revoked());
    if (revocation == RevokedAnswer.Unreadable) return this.deny(proxyRefused("the proxy did not hand over the revoked set"));
    const identity = known.identity;
    if (this.route.kind != DecisionKind.NoRuleMatched) {
      const decision = authorize(root.config.rules, this.route, identity.roles, identity.scopes);
      if (decision.kind != DecisionKind.Allowed) return this.deny(forbidden(decision.reason));
    }
    const headers = known.headers;
    if (headers.error.length > 0) return this.deny(invalidToken(headers.error));
    const names = headers.nameBytes;
    const values = headers.valueBytes;
    let set = true;
    for (let i = 0; i < names.length; i++) set = replaceHeaderBytes(REQUEST_HEADERS, unchecked(names[i]), unchecked(values[i])) == OK && set;
    const hmac = root.hmac;
    if (hmac !== null) set = replaceHeaderBytes(REQUEST_HEADERS, headers.signatureName, headers.signatureBytes(hmac, now / 1000)) == OK && set;
    if (!set) return this.deny(proxyRefused("the proxy did not set the identity headers"));
    if (root.config.identity.stripAuthorization && removeAuthorization(REQUEST_HEADERS) != OK) return this.deny(authorizationKept());
    root.metrics.inc(root.metrics.allowed);
    return CONTINUE;
  }

  private deny(d: Denial): u32 {
    this.token = "";
    this.root.metrics.deny(d.reason);
    const requestId = getHeader(REQUEST_HEADERS, "x-request-id");
    const names = ["content-type", "cache-control"];
    const values = ["application/json", "no-store"];
    if (d.status == 401 || d.status == 403) {
      names.push("www-authenticate");
      values.push(challenge(d));
    }
    if (d.status == 503) {
      names.push("retry-after");
      values.push(RETRY_AFTER_S);
    }
    sendLocalResponse(d.status, "altgate_" + d.reason, denialBody(d, requestId === null ? "" : requestId), names, values);
    return STOP;
  }
}

function authorizationKept(): Denial {
  return proxyRefused("the proxy did not remove the Authorization header");
}

/**
 * Whether the header name at `ptr` is `expected` (lowercase ASCII), byte for byte or, with
 * `ignoreCase`, with ASCII letters in any case. Names are Latin-1 bytes, and no byte past 0x7F
 * lowercases to an ASCII letter, so this is exactly `name.toLowerCase() == expected`.
 */
function nameIs(ptr: usize, len: usize, expected: string, ignoreCase: bool): bool {
  if (len != <usize>expected.length) return false;
  for (let i: usize = 0; i < len; i++) {
    let c = <u32>load<u8>(ptr + i);
    if (ignoreCase && c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c != <u32>load<u16>(changetype<usize>(expected) + (i << 1))) return false;
  }
  return true;
}

/** A Positive or Negative entry answers a request; a miss or a Pending one sends it to introspection. */
function isAnswer(cached: LookupResult): bool {
  return cached.kind == LookupKind.Positive || cached.kind == LookupKind.Negative;
}
