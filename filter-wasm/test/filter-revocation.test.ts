// Personal API tokens and the revocation feed, through the whole filter in the test host: the
// poller (one per proxy and period, its cursor, its failures), the revoked set in shared data, and
// the check on every request, cache hits included, in every worker.
import { describe, expect, it } from "vitest";
import {
  ALICE,
  apiTokenKey,
  checkTokenLeaksAfterEach,
  denial,
  filterConfig,
  Gateway,
  REVOCATION_PATH,
  TOKEN_SERVICE_CLUSTER,
  TOKEN_SERVICE_PATH,
  upstreamHeader,
  type ConfigOptions,
} from "./filter-helpers.ts";
import type { HttpCall, HttpStream } from "../host/index.ts";

checkTokenLeaksAfterEach();

const POLL_MS = 250;
/** The first tick comes at the filter's fast tick (WAIT_POLL_MS), so a new proxy loads the set at once. */
const FIRST_POLL_MS = 5;
const FEED_TIMEOUT_MS = 1000;
/** The lease outlives the poll's timeout by this much (LEASE_MARGIN_MS). */
const LEASE_MARGIN_MS = 1000;
const SHARD_COUNT = 256;

function feedGateway(workers = 1, o: ConfigOptions = {}): Gateway {
  return new Gateway({ workers, config: filterConfig({ apiTokens: true, revocations: { pollMs: POLL_MS }, ...o }) });
}

/** A new gateway whose first poll has been answered with an empty set. */
function loaded(workers = 1, o: ConfigOptions = {}): Gateway {
  const gw = feedGateway(workers, o);
  gw.proxy.advance(FIRST_POLL_MS);
  gw.answerFeed("e1.0");
  return gw;
}

/** What the token service's POST /internal/v1/introspect answers for an active API token. */
function apiTokenBody(nowMs: number, o: { jti?: string; roles?: string[]; expiresInS?: number } = {}): string {
  const nowS = Math.floor(nowMs / 1000);
  return JSON.stringify({
    active: true,
    sub: ALICE.sub,
    username: ALICE.username,
    client_id: "altgate-api-token",
    token_type: "api-token",
    exp: nowS + (o.expiresInS ?? 86400),
    iat: nowS - 60,
    jti: o.jti ?? "0b9f3c52-6f0e-4c41-9d7a-3a1e5f000001",
    scope: "",
    realm_access: { roles: o.roles ?? ["model:read", "token:manage"] },
  });
}

/** Runs a request with an API token whose introspection is answered as the token service does. */
function withApiToken(gw: Gateway, token: string, worker = 0): HttpStream {
  const stream = gw.request("/v1/models", { token, worker });
  expect(stream.state).toBe("paused");
  gw.onlyPendingCall().respond({ status: 200, headers: [["content-type", "application/json"]], body: apiTokenBody(gw.nowMs) });
  return stream;
}

function expectRevoked(stream: HttpStream): void {
  const d = denial(stream);
  expect(d.status).toBe(401);
  expect(d.body).toMatchObject({ error: "invalid_token", error_description: "the token has been revoked" });
  expect(d.wwwAuthenticate).toBe('Bearer realm="altgate", error="invalid_token", error_description="the token has been revoked"');
  expect(stream.localResponse!.details).toBe("altgate_revoked");
}

function revocationKeys(gw: Gateway): string[] {
  return gw.proxy.sharedData.keys().filter((k) => k.startsWith("altgate/r/"));
}

describe("polling the revocation feed", () => {
  it("GETs the feed at the token service, the whole set first, then every poll_ms since the last cursor", () => {
    const gw = feedGateway();
    expect(gw.feedPolls()).toHaveLength(0);
    gw.proxy.advance(FIRST_POLL_MS);
    const first = gw.pendingFeedPoll();
    expect(first.cluster).toBe(TOKEN_SERVICE_CLUSTER);
    expect(first.header(":method")).toBe("GET");
    expect(first.header(":path")).toBe(REVOCATION_PATH);
    expect(first.header(":authority")).toBe(TOKEN_SERVICE_CLUSTER);
    expect(first.header("accept")).toBe("application/json");
    expect(first.body).toHaveLength(0);
    expect(first.timeoutMs).toBe(FEED_TIMEOUT_MS);
    gw.answerFeed("0f1e2d3c4b5a.3");

    gw.proxy.advance(POLL_MS - 1);
    expect(gw.feedPolls()).toHaveLength(1);
    gw.proxy.advance(1);
    expect(gw.pendingFeedPoll().header(":path")).toBe(`${REVOCATION_PATH}?since=0f1e2d3c4b5a.3`);
    // 304: nothing new, the cursor stays.
    gw.pendingFeedPoll().respond({ status: 304 });
    gw.proxy.advance(POLL_MS);
    expect(gw.pendingFeedPoll().header(":path")).toBe(`${REVOCATION_PATH}?since=0f1e2d3c4b5a.3`);
    gw.answerFeed("0f1e2d3c4b5a.9+x/y");
    gw.proxy.advance(POLL_MS);
    expect(gw.pendingFeedPoll().header(":path")).toBe(`${REVOCATION_PATH}?since=0f1e2d3c4b5a.9%2Bx%2Fy`);
    gw.answerFeed("0f1e2d3c4b5a.9");
    expect(gw.counter("altgate.revocation_polls")).toBe(4);
    expect(gw.counter("altgate.revocation_poll_failures")).toBe(0);
  });

  it("is done by one worker per proxy and period, whichever ticks first, with three workers", () => {
    const gw = feedGateway(3);
    const durationMs = 20_000;
    let maxPending = 0;
    // The token service answers every other poll at once, the others 100 ms later.
    const answerAt = new Map<HttpCall, number>();
    for (let t = 0; t < durationMs; t += 5) {
      gw.proxy.advance(5);
      const pending = gw.feedPolls().filter((c) => c.state === "pending");
      maxPending = Math.max(maxPending, pending.length);
      for (const call of pending) {
        if (!answerAt.has(call)) answerAt.set(call, gw.nowMs + (answerAt.size % 2) * 100);
        if (gw.nowMs >= answerAt.get(call)!) call.respond({ status: 304 });
      }
    }
    expect(maxPending).toBe(1);
    const polls = gw.feedPolls();
    // The first poll at 5 ms, then one every 250 ms.
    expect(polls).toHaveLength(1 + Math.floor((durationMs - FIRST_POLL_MS) / POLL_MS));
    expect(gw.counter("altgate.revocation_polls")).toBe(polls.length);
  });

  it("never has two polls in flight: a slow answer puts the next poll a period after it", () => {
    const gw = feedGateway(3);
    gw.proxy.advance(FIRST_POLL_MS);
    gw.answerFeed("c.1");
    let answeredAt = gw.nowMs;
    for (let i = 0; i < 5; i++) {
      while (gw.feedPolls().every((c) => c.state !== "pending")) gw.proxy.advance(5);
      // Ticks come every poll_ms, so the poll comes at the first one once it is due.
      expect(gw.nowMs - answeredAt).toBeGreaterThanOrEqual(POLL_MS);
      expect(gw.nowMs - answeredAt).toBeLessThan(2 * POLL_MS);
      const call = gw.pendingFeedPoll();
      // 900 ms: longer than the period, within the timeout.
      gw.proxy.advance(900);
      expect(gw.feedPolls().filter((c) => c.state === "pending")).toEqual([call]);
      call.respond({ status: 304 });
      answeredAt = gw.nowMs;
    }
    expect(gw.feedPolls()).toHaveLength(6);
  });

  it("is taken over once the lease of a worker that died during its poll has run out", () => {
    const dead = feedGateway();
    dead.proxy.advance(FIRST_POLL_MS);
    dead.pendingFeedPoll();
    const gw = feedGateway(2);
    for (const key of dead.proxy.sharedData.keys()) gw.proxy.sharedData.set(key, dead.proxy.sharedData.get(key)!.value);

    const leaseEnds = FIRST_POLL_MS + FEED_TIMEOUT_MS + LEASE_MARGIN_MS;
    gw.proxy.advance(leaseEnds - 1);
    expect(gw.feedPolls()).toHaveLength(0);
    gw.proxy.advance(POLL_MS);
    expect(gw.pendingFeedPoll().header(":path")).toBe(REVOCATION_PATH);
    gw.answerFeed("c.1");
    dead.answerFeed("c.1");
  });

  it("polls once per period while requests wait on another worker's introspection (the 5 ms tick)", () => {
    const gw = loaded(2);
    const token = gw.token();
    gw.request("/v1/models", { token, worker: 0 });
    const waiting = gw.request("/v1/models", { token, worker: 1 });
    const before = gw.feedPolls().length;
    for (let t = 0; t < 1000; t += 5) {
      gw.proxy.advance(5);
      for (const call of gw.feedPolls()) if (call.state === "pending") call.respond({ status: 304 });
    }
    expect(gw.feedPolls().length - before).toBe(4);
    expect(waiting.state).toBe("paused");
    gw.answer();
    gw.proxy.advance(5);
    expect(waiting.state).toBe("continued");
  });

  it("does not poll, tick or write revocation keys when no feed is configured", () => {
    const gw = new Gateway({ workers: 2, config: filterConfig({ apiTokens: true }) });
    gw.proxy.advance(60_000);
    expect(gw.proxy.httpCalls).toHaveLength(0);
    expect(revocationKeys(gw)).toEqual([]);
  });
});

describe("failed polls", () => {
  const failures: [string, (gw: Gateway) => void][] = [
    ["a 503", (gw) => gw.pendingFeedPoll().respond({ status: 503, body: '{"error":"temporarily_unavailable"}' })],
    ["a reset", (gw) => gw.pendingFeedPoll().fail()],
    ["a timeout", (gw) => gw.proxy.advance(FEED_TIMEOUT_MS)],
    ["a 200 that is not JSON", (gw) => gw.pendingFeedPoll().respond({ status: 200, body: "<html>" })],
    ["a 200 without a body", (gw) => gw.pendingFeedPoll().respond({ status: 200 })],
    ["a 200 with a malformed entry", (gw) => gw.pendingFeedPoll().respond({ status: 200, body: '{"cursor":"c.9","revoked":[{"key":"k","exp":"soon"}]}' })],
    ["a 200 without a cursor", (gw) => gw.pendingFeedPoll().respond({ status: 200, body: '{"revoked":[]}' })],
    ["a 200 that is not UTF-8", (gw) => gw.pendingFeedPoll().respond({ status: 200, body: Uint8Array.of(0x7b, 0xff, 0x7d) })],
    ["a 200 over 4 MiB", (gw) => gw.pendingFeedPoll().respond({ status: 200, body: `{"cursor":"c.9","revoked":[]}${" ".repeat(4 << 20)}` })],
    ["a 204", (gw) => gw.pendingFeedPoll().respond({ status: 204 })],
  ];

  it.each(failures)("keep the revoked set and the cursor after %s, count it, and try again the next period", (_, fail) => {
    const gw = loaded(2);
    const token = gw.token("agt_");
    gw.proxy.advance(POLL_MS);
    gw.answerFeed("c.5", [{ key: apiTokenKey(token) }]);

    gw.proxy.advance(POLL_MS);
    fail(gw);
    for (const worker of [0, 1]) expectRevoked(gw.request("/v1/models", { token, worker }));
    expect(gw.counter("altgate.revocation_poll_failures")).toBe(1);
    expect(gw.proxy.logs.lines.filter((l) => l.message.includes("revocation feed poll failed"))).toHaveLength(1);

    gw.proxy.advance(POLL_MS);
    const retry = gw.pendingFeedPoll();
    expect(retry.header(":path")).toBe(`${REVOCATION_PATH}?since=c.5`);
    gw.answerFeed("c.6");
    expectRevoked(gw.request("/v1/models", { token }));
    expect(gw.proxy.httpCalls.filter((c) => c.header(":method") === "POST")).toHaveLength(0);
    for (const line of gw.proxy.logs.lines) expect(line.message).not.toContain(apiTokenKey(token));
  });

  it("lose no revocation when the proxy refuses the shared data a merge needs: a later poll fetches it again", () => {
    const gw = loaded();
    const token = gw.token("agt_");
    expect(withApiToken(gw, token).state).toBe("continued");

    gw.proxy.advance(POLL_MS);
    gw.proxy.failingHostCalls.add("proxy_get_shared_data");
    gw.answerFeed("c.7", [{ key: apiTokenKey(token) }]);
    gw.proxy.failingHostCalls.clear();
    expect(gw.counter("altgate.revocation_poll_failures")).toBe(1);
    expect(gw.proxy.logs.lines.filter((l) => l.message.includes("could not write the revoked set"))).toHaveLength(1);
    expect(gw.request("/v1/models", { token }).state).toBe("continued");

    // The lease could not be released either: the next poll comes once it has run out, from the old cursor.
    gw.proxy.advance(FEED_TIMEOUT_MS + LEASE_MARGIN_MS);
    expect(gw.pendingFeedPoll().header(":path")).toBe(`${REVOCATION_PATH}?since=e1.0`);
    gw.answerFeed("c.7", [{ key: apiTokenKey(token) }]);
    expectRevoked(gw.request("/v1/models", { token }));
  });

  it("are logged once while they last, and the recovery once", () => {
    const gw = loaded();
    for (let i = 0; i < 5; i++) {
      gw.proxy.advance(POLL_MS);
      gw.pendingFeedPoll().respond({ status: 503 });
    }
    gw.proxy.advance(POLL_MS);
    gw.pendingFeedPoll().respond({ status: 304 });
    const lines = gw.proxy.logs.lines.filter((l) => l.message.includes("revocation feed"));
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ["warn", "altgate: revocation feed poll failed, keeping the revoked set as it is: status 503"],
      ["info", "altgate: revocation feed polled again"],
    ]);
    expect(gw.counters(["altgate.revocation_polls", "altgate.revocation_poll_failures"])).toEqual({
      "altgate.revocation_polls": 7,
      "altgate.revocation_poll_failures": 5,
    });
  });

  it("leave the set to the next worker when a poll cannot even be dispatched (unknown cluster)", () => {
    const gw = new Gateway({
      config: filterConfig({ apiTokens: true, revocations: { pollMs: POLL_MS } }),
      clusters: ["keycloak"],
    });
    gw.proxy.advance(FIRST_POLL_MS + 2 * POLL_MS);
    expect(gw.feedPolls()).toHaveLength(0);
    expect(gw.counters(["altgate.revocation_polls", "altgate.revocation_poll_failures"])).toEqual({
      "altgate.revocation_polls": 3,
      "altgate.revocation_poll_failures": 3,
    });
    gw.expectAlive();
  });
});

describe("revoked tokens", () => {
  it("an API token is refused on cache hits in every worker within one poll period of the feed listing it", () => {
    const gw = loaded(3);
    const token = gw.token("agt_");
    expect(withApiToken(gw, token, 0).state).toBe("continued");
    for (const worker of [1, 2]) expect(gw.request("/v1/models", { token, worker }).state).toBe("continued");

    // The token service revokes it now; its feed lists it from the next poll on.
    gw.proxy.advance(POLL_MS);
    gw.answerFeed("c.1", [{ key: apiTokenKey(token) }]);
    for (const worker of [0, 1, 2, 0]) expectRevoked(gw.request("/v1/models", { token, worker }));
    expect(gw.proxy.httpCalls.filter((c) => c.cluster === TOKEN_SERVICE_CLUSTER && c.header(":path") === TOKEN_SERVICE_PATH)).toHaveLength(1);
    expect(gw.counters(["altgate.denied.revoked", "altgate.requests_denied", "altgate.cache_hits"])).toEqual({
      "altgate.denied.revoked": 4,
      "altgate.requests_denied": 4,
      "altgate.cache_hits": 6,
    });
  });

  it("an access token is refused by its jti on cache hits in every worker", () => {
    const gw = loaded(3, { positiveTtlS: 300 });
    const token = gw.token();
    const jti = "onrtac:5b1e2c9d-0000-4000-8000-00000000abcd";
    expect(gw.authenticate("/v1/models", token, { jti }).state).toBe("continued");
    expect(upstreamHeader(gw.request("/v1/models", { token, worker: 1 }), "x-altgate-token-id")).toBe(jti);

    gw.proxy.advance(POLL_MS);
    gw.answerFeed("c.1", [{ key: jti, expiresInS: 300 }]);
    for (const worker of [0, 1, 2]) expectRevoked(gw.request("/v1/models", { token, worker }));
    // Other tokens of the same user are not affected.
    expect(gw.authenticate("/v1/models", gw.token(), { jti: "onrtac:another" }).state).toBe("continued");
    expect(gw.proxy.httpCalls.filter((c) => c.cluster === "keycloak")).toHaveLength(2);
  });

  it("are never let through unchecked when the proxy will not hand over the revoked set: 500 until it does", () => {
    const gw = loaded(1, { positiveTtlS: 300 });
    const token = gw.token();
    expect(gw.authenticate("/v1/models", token).state).toBe("continued");

    gw.proxy.failingHostCalls.add("proxy_get_shared_data");
    const d = denial(gw.request("/v1/models", { token }));
    expect(d.status).toBe(500);
    expect(d.body).toMatchObject({ error: "server_error", error_description: "the proxy did not hand over the revoked set" });
    expect(gw.counter("altgate.denied.proxy_error")).toBe(1);

    gw.proxy.failingHostCalls.clear();
    expect(gw.request("/v1/models", { token }).state).toBe("continued");
  });

  it("an API token the feed lists is refused before any introspection call", () => {
    const gw = loaded(2);
    const token = gw.token("agt_");
    gw.proxy.advance(POLL_MS);
    gw.answerFeed("c.1", [{ key: apiTokenKey(token) }]);
    expectRevoked(gw.request("/v1/tokens", { token, worker: 1 }));
    expect(gw.proxy.httpCalls.filter((c) => !c.header(":path")!.startsWith(REVOCATION_PATH))).toHaveLength(0);
  });

  it("an access token the feed lists is refused after its introspection, and then from the cache without another", () => {
    const gw = loaded();
    const token = gw.token();
    gw.proxy.advance(POLL_MS);
    gw.answerFeed("c.1", [{ key: ALICE.jti }]);
    expectRevoked(gw.authenticate("/v1/models", token));
    expectRevoked(gw.request("/v1/models", { token }));
    expect(gw.proxy.httpCalls.filter((c) => c.cluster === "keycloak")).toHaveLength(1);
  });

  it("an access token without a jti cannot be listed, and is checked against nothing", () => {
    const gw = loaded();
    gw.proxy.advance(POLL_MS);
    gw.answerFeed("c.1", [{ key: "" }, { key: ALICE.jti }]);
    expect(gw.authenticate("/v1/models", gw.token(), { extra: { jti: undefined } }).state).toBe("continued");
  });

  it("are refused in requests waiting for an introspection when the revocation arrives meanwhile", () => {
    const gw = loaded();
    const token = gw.token("agt_");
    const stream = gw.request("/v1/models", { token });
    gw.proxy.advance(POLL_MS);
    gw.answerFeed("c.1", [{ key: apiTokenKey(token) }]);
    gw.onlyPendingCall().respond({ status: 200, body: apiTokenBody(gw.nowMs) });
    expectRevoked(stream);
  });

  it("are allowed again once the entry's exp has passed", () => {
    const gw = loaded(1, { positiveTtlS: 300 });
    const token = gw.token("agt_");
    withApiToken(gw, token);
    gw.proxy.advance(POLL_MS);
    gw.answerFeed("c.1", [{ key: apiTokenKey(token), expiresInS: 10 }]);
    const expMs = (Math.floor(gw.nowMs / 1000) + 10) * 1000;
    gw.proxy.advance(expMs - 1 - gw.nowMs);
    expectRevoked(gw.request("/v1/models", { token }));
    gw.proxy.advance(1);
    // The feed drops an entry once the token has expired; a token service would not list one that
    // outlives its entry, so this only shows that the entry goes.
    expect(gw.request("/v1/models", { token }).state).toBe("continued");
  });
});

describe("the revoked set in shared data", () => {
  it("holds 10,000 revocations under 257 keys, refuses every one, and sheds them once expired", () => {
    const gw = loaded(3);
    const tokens = Array.from({ length: 10_000 }, (_, i) => `agt_revoked${i.toString().padStart(5, "0")}`);
    const memoryBefore = Math.max(...gw.workers.map((w) => w.memoryBytes));
    gw.proxy.advance(POLL_MS);
    const pollerId = gw.pendingFeedPoll().worker.id;
    const poller = gw.workers.find((w) => w.id === pollerId)!;
    gw.answerFeed("c.10000", tokens.map((t, i) => ({ key: apiTokenKey(t), expiresInS: 600 + (i % 600) })));
    expect(gw.counter("altgate.revocation_poll_failures")).toBe(0);

    const keys = revocationKeys(gw);
    expect(keys).toHaveLength(1 + SHARD_COUNT);
    for (const k of keys) expect(k).toMatch(/^altgate\/r\/(state|s\/\d{1,3})$/);
    const sizes = keys.filter((k) => k.startsWith("altgate/r/s/")).map((k) => gw.proxy.sharedData.get(k)!.value.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(sizes.length + 10_000 * 24);
    expect(Math.max(...sizes)).toBeLessThan(2048);

    for (let i = 0; i < tokens.length; i += 37) {
      gw.remember(tokens[i]!);
      expectRevoked(gw.request("/v1/models", { token: tokens[i]!, worker: i % 3 }));
    }
    expect(gw.proxy.httpCalls.filter((c) => c.header(":method") === "POST")).toHaveLength(0);
    const fine = gw.token("agt_");
    expect(withApiToken(gw, fine, 2).state).toBe("continued");
    // Reading the answer takes transient memory in the polling worker only.
    const grown = poller.memoryBytes - memoryBefore;
    expect(grown).toBeLessThan(24 << 20);

    // Another 10,000 add no key.
    gw.proxy.advance(POLL_MS);
    gw.answerFeed("c.20000", tokens.map((t) => ({ key: apiTokenKey(`${t}b`), expiresInS: 60 })));
    expect(revocationKeys(gw).length).toBe(keys.length);

    // Past every exp, each poll sweeps one shard: after SHARD_COUNT polls every shard is empty.
    gw.proxy.advance(1200 * 1000);
    for (let i = 0; i < SHARD_COUNT + 1; i++) {
      gw.proxy.advance(POLL_MS);
      for (const call of gw.feedPolls()) if (call.state === "pending") call.respond({ status: 304 });
    }
    for (const k of revocationKeys(gw).filter((key) => key.startsWith("altgate/r/s/"))) expect(gw.proxy.sharedData.get(k)!.value).toEqual(Uint8Array.of(1));
    expect(gw.request("/v1/models", { token: tokens[0]! }).state).toBe("paused");
    gw.onlyPendingCall().respond({ status: 200, body: JSON.stringify({ active: false }) });
  });

  it("keeps no token, key or hash text in shared data: fingerprints only", () => {
    const gw = loaded();
    const token = gw.token("agt_");
    const jti = "onrtac:visible-jti";
    gw.proxy.advance(POLL_MS);
    gw.answerFeed("c.1", [{ key: apiTokenKey(token) }, { key: jti }]);
    for (const key of revocationKeys(gw)) {
      const value = Buffer.from(gw.proxy.sharedData.get(key)!.value);
      for (const text of [token, apiTokenKey(token), jti]) expect(value.includes(Buffer.from(text))).toBe(false);
      expect(value.includes(Buffer.from(apiTokenKey(token), "hex"))).toBe(false);
    }
  });
});

describe("API tokens", () => {
  it("validate as the token service answers them (no iss, no aud) even when Keycloak's issuer and audience are checked", () => {
    const config = filterConfig({ apiTokens: true, revocations: { pollMs: POLL_MS } });
    const issuers = config.issuers as { keycloak: Record<string, unknown>; api_tokens: Record<string, unknown> };
    issuers.keycloak.issuer = "http://keycloak:8080/realms/altgate";
    issuers.keycloak.audience = "altgate-gateway";
    issuers.api_tokens.client_id = "altgate-gateway";
    issuers.api_tokens.client_secret = "introspection-dev-secret";
    const gw = new Gateway({ config });
    const token = gw.token("agt_");
    const jti = "0b9f3c52-6f0e-4c41-9d7a-3a1e5f00abcd";
    const stream = gw.request("/v1/tokens", { token });
    const call = gw.onlyPendingCall();
    expect(call.cluster).toBe(TOKEN_SERVICE_CLUSTER);
    expect(call.header(":path")).toBe(TOKEN_SERVICE_PATH);
    expect(call.header("authorization")).toBe(`Basic ${Buffer.from("altgate-gateway:introspection-dev-secret").toString("base64")}`);
    call.respond({ status: 200, body: apiTokenBody(gw.nowMs, { jti }) });
    expect(stream.state).toBe("continued");
    expect(upstreamHeader(stream, "x-altgate-token-kind")).toBe("api-token");
    expect(upstreamHeader(stream, "x-altgate-token-id")).toBe(jti);
    expect(upstreamHeader(stream, "x-altgate-client")).toBe("altgate-api-token");
    expect(upstreamHeader(stream, "x-altgate-roles")).toBe("model:read,token:manage");

    // The same claims from Keycloak for an access token fail its issuer check.
    const oidc = gw.request("/v1/tokens", { token: gw.token() });
    gw.onlyPendingCall().respond({ status: 200, body: apiTokenBody(gw.nowMs) });
    expect(denial(oidc).body.error_description).toBe("iss: not the configured issuer");
  });
});
