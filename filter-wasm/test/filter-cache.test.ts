// The introspection cache in shared data, issuer failures, and the filter's counters and logs,
// driven through the whole filter in the test host on its virtual clock.
import { describe, expect, it } from "vitest";
import {
  ALICE,
  checkTokenLeaksAfterEach,
  denial,
  filterConfig,
  Gateway,
  sha256,
  TIMEOUT_MS,
  upstreamHeader,
} from "./filter-helpers.ts";

checkTokenLeaksAfterEach();

describe("the introspection cache", () => {
  it("serves 100 sequential requests with one token from a single introspection", () => {
    const gw = new Gateway();
    const token = gw.token();
    expect(gw.authenticate("/v1/models", token).state).toBe("continued");
    for (let i = 1; i < 100; i++) {
      gw.proxy.advance(100);
      const stream = gw.request("/v1/models/iris", { token });
      expect(stream.state).toBe("continued");
      expect(upstreamHeader(stream, "x-altgate-subject")).toBe(ALICE.sub);
    }
    expect(gw.proxy.httpCalls).toHaveLength(1);
    expect(gw.counters(["altgate.cache_hits", "altgate.cache_misses", "altgate.requests_allowed"])).toEqual({
      "altgate.cache_hits": 99,
      "altgate.cache_misses": 1,
      "altgate.requests_allowed": 100,
    });
  });

  it("is shared by every worker of the proxy", () => {
    const gw = new Gateway({ workers: 3 });
    const token = gw.token();
    gw.authenticate("/v1/models", token, {}, { worker: 0 });
    expect(gw.request("/v1/models", { token, worker: 1 }).state).toBe("continued");
    expect(gw.request("/v1/models", { token, worker: 2 }).state).toBe("continued");
    expect(gw.proxy.httpCalls).toHaveLength(1);
  });

  it("keeps an active token no longer than its exp when that comes before positive_ttl_s", () => {
    const gw = new Gateway({ config: filterConfig({ positiveTtlS: 60 }) });
    const token = gw.token();
    gw.authenticate("/v1/models", token, { expiresInS: 30 });
    const expMs = (Math.floor(gw.nowMs / 1000) + 30) * 1000;

    gw.proxy.advance(expMs - 1 - gw.nowMs);
    expect(gw.request("/v1/models", { token }).state).toBe("continued");
    expect(gw.proxy.httpCalls).toHaveLength(1);

    gw.proxy.advance(1);
    const after = gw.request("/v1/models", { token });
    expect(after.state).toBe("paused");
    expect(gw.proxy.httpCalls).toHaveLength(2);
    // Keycloak now says what it says about an expired token.
    gw.answer({ active: false });
    expect(denial(after).status).toBe(401);
  });

  it("keeps an active token no longer than positive_ttl_s when that comes before exp", () => {
    const gw = new Gateway({ config: filterConfig({ positiveTtlS: 60 }) });
    const token = gw.token();
    gw.authenticate("/v1/models", token, { expiresInS: 3600 });
    gw.proxy.advance(59_999);
    expect(gw.request("/v1/models", { token }).state).toBe("continued");
    gw.proxy.advance(1);
    const stream = gw.request("/v1/models", { token });
    expect(gw.proxy.httpCalls).toHaveLength(2);
    gw.answer({ expiresInS: 3540 });
    expect(stream.state).toBe("continued");
  });

  it("caches nothing when positive_ttl_s is 0", () => {
    const gw = new Gateway({ config: filterConfig({ positiveTtlS: 0 }) });
    const token = gw.token();
    gw.authenticate("/v1/models", token);
    expect(gw.request("/v1/models", { token }).state).toBe("paused");
    gw.answer();
    expect(gw.proxy.httpCalls).toHaveLength(2);
  });

  it("remembers an inactive token for negative_ttl_s, then asks again", () => {
    const gw = new Gateway({ config: filterConfig({ negativeTtlS: 5 }) });
    const token = gw.token();
    expect(denial(gw.authenticate("/v1/models", token, { active: false })).status).toBe(401);

    gw.proxy.advance(4_999);
    const cached = gw.request("/v1/models", { token });
    expect(denial(cached)).toMatchObject({ status: 401, body: { error: "invalid_token" } });
    expect(gw.proxy.httpCalls).toHaveLength(1);

    gw.proxy.advance(1);
    const again = gw.request("/v1/models", { token });
    expect(again.state).toBe("paused");
    expect(gw.proxy.httpCalls).toHaveLength(2);
    // A token can become known (the token service is eventually consistent): then it passes.
    gw.answer();
    expect(again.state).toBe("continued");
  });

  it("sends what the issuer said last: a new answer for the same token replaces the identity a worker remembered", () => {
    const gw = new Gateway({ config: filterConfig({ positiveTtlS: 10 }), workers: 2 });
    const token = gw.token();
    gw.authenticate("/v1/models", token, { username: "alice", roles: ["model:read"] });
    for (const worker of [0, 1]) {
      const s = gw.request("/v1/models", { token, worker });
      expect([s.state, upstreamHeader(s, "x-altgate-username")]).toEqual(["continued", "alice"]);
    }
    // The entry runs out; the issuer now knows the user by another name and without the role.
    gw.proxy.advance(10_000);
    gw.authenticate("/v1/models/x", token, { username: "alice.renamed", roles: ["model:read"] }, { worker: 1 });
    const renamed = gw.request("/v1/models", { token, worker: 0 });
    expect([renamed.state, upstreamHeader(renamed, "x-altgate-username")]).toEqual(["continued", "alice.renamed"]);
    gw.proxy.advance(10_000);
    expect(gw.authenticate("/v1/models", token, { roles: [] }, { worker: 1 }).state).toBe("local-response");
    expect(denial(gw.request("/v1/models", { token, worker: 0 })).status).toBe(403);
    expect(gw.proxy.httpCalls).toHaveLength(3);
  });

  it("keeps token bytes out of shared data: keys are bucket numbers, values hold only its hash", () => {
    const gw = new Gateway();
    const tokens = Array.from({ length: 20 }, () => gw.token());
    for (const [i, token] of tokens.entries()) gw.authenticate("/v1/models", token, i % 2 ? { active: false } : {});

    const keys = gw.proxy.sharedData.keys();
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).toMatch(/^altgate\/c\/\d+$/);
    const values = keys.map((k) => Buffer.from(gw.proxy.sharedData.get(k)!.value));
    for (const token of tokens) {
      // The hash is there (so this looks at the right data), the token is not, in any encoding.
      expect(values.some((v) => v.includes(sha256(token)))).toBe(true);
      for (const form of [token, encodeURIComponent(token), Buffer.from(token).toString("base64"), Buffer.from(token).toString("hex")]) {
        expect(values.some((v) => v.includes(Buffer.from(form)))).toBe(false);
      }
    }
  });

  it("holds a bounded number of shared-data keys whatever the number of tokens", () => {
    const gw = new Gateway({ config: filterConfig({ maxEntries: 8 }), workers: 2 });
    const tokens = Array.from({ length: 100 }, () => gw.token());
    for (const token of tokens) gw.authenticate("/v1/models", token);
    expect(gw.proxy.sharedData.keys()).toHaveLength(2);
    expect(gw.counter("altgate.cache_evictions")).toBe(92);
    // The last few are still cached for every worker; an evicted one is introspected again by a
    // worker that does not remember it itself.
    expect(gw.request("/v1/models", { token: tokens[99]!, worker: 1 }).state).toBe("continued");
    expect(gw.request("/v1/models", { token: tokens[0]!, worker: 1 }).state).toBe("paused");
    gw.answer();
  });

  it("lets a worker serve a token it remembers until the shared entry's expiry, even once evicted there", () => {
    const gw = new Gateway({ config: filterConfig({ maxEntries: 4, positiveTtlS: 30 }), workers: 2 });
    const first = gw.token();
    gw.authenticate("/v1/models", first);
    // Four more tokens in the one 4-way bucket evict the first from the shared cache.
    for (let i = 0; i < 4; i++) gw.authenticate("/v1/models", gw.token());
    expect(gw.counter("altgate.cache_evictions")).toBe(1);
    gw.proxy.advance(29_999);
    const remembered = gw.request("/v1/models", { token: first, worker: 0 });
    expect([remembered.state, upstreamHeader(remembered, "x-altgate-subject")]).toEqual(["continued", ALICE.sub]);
    expect(gw.proxy.httpCalls).toHaveLength(5);
    // Not a millisecond past the expiry the shared cache had given it.
    gw.proxy.advance(1);
    expect(gw.request("/v1/models", { token: first, worker: 0 }).state).toBe("paused");
    gw.answer();
  });

  it("ignores garbage in its shared-data buckets rather than trusting or trapping on it", () => {
    // Each broken bucket is read by a worker of its own: one that answered the token before would
    // remember it and never read the bucket.
    const gw = new Gateway({ config: filterConfig({ maxEntries: 4 }), workers: 5 });
    const token = gw.token();
    gw.authenticate("/v1/models", token);
    const [key] = gw.proxy.sharedData.keys();
    const value = Buffer.from(gw.proxy.sharedData.get(key!)!.value);
    for (const [i, broken] of [Buffer.alloc(0), value.subarray(0, value.length - 1), Buffer.concat([value, Buffer.from([0])]), Buffer.from("garbage")].entries()) {
      gw.proxy.sharedData.set(key!, broken);
      const stream = gw.request("/v1/models", { token, worker: i + 1 });
      expect(stream.state).toBe("paused");
      gw.answer();
      expect(stream.state).toBe("continued");
    }
  });
});

describe("when the issuer fails", () => {
  const failures: [what: string, fail: (gw: Gateway) => void][] = [
    ["the call fails (reset, no headers)", (gw) => gw.onlyPendingCall().fail()],
    ["Keycloak answers 500", (gw) => gw.onlyPendingCall().respond({ status: 500, body: "oops" })],
    ["Keycloak answers 503", (gw) => gw.onlyPendingCall().respond({ status: 503 })],
    ["Keycloak refuses the gateway's credentials (401)", (gw) => gw.onlyPendingCall().respond({ status: 401, body: '{"error":"invalid_client"}' })],
    ["a 200-less redirect comes back", (gw) => gw.onlyPendingCall().respond({ status: 302, headers: [["location", "/login"]] })],
    ["the call times out (Envoy's 504)", (gw) => gw.proxy.advance(TIMEOUT_MS)],
  ];

  it.each(failures)("answers 503 with Retry-After when %s, and caches nothing", (_what, fail) => {
    const gw = new Gateway();
    const token = gw.token();
    const stream = gw.request("/v1/models", { token });
    fail(gw);

    const d = denial(stream);
    expect(d.status).toBe(503);
    expect(d.retryAfter).toBe("1");
    expect(d.body.error).toBe("temporarily_unavailable");
    expect(d.wwwAuthenticate).toBeUndefined();
    expect(gw.counter("altgate.introspection_failures")).toBe(1);
    expect(gw.counter("altgate.denied.issuer_unavailable")).toBe(1);

    // Nothing was cached: the very next request asks again, and succeeds once the issuer is back.
    const next = gw.request("/v1/models", { token });
    expect(next.state).toBe("paused");
    expect(gw.proxy.httpCalls).toHaveLength(2);
    gw.answer();
    expect(next.state).toBe("continued");
  });

  it("times out on the configured timeout_ms, not before", () => {
    const gw = new Gateway({ config: filterConfig({ timeoutMs: 800 }) });
    const stream = gw.request("/v1/models", { token: gw.token() });
    expect(gw.onlyPendingCall().timeoutMs).toBe(800);
    gw.proxy.advance(799);
    expect(stream.state).toBe("paused");
    gw.proxy.advance(1);
    expect(denial(stream).status).toBe(503);
  });

  it("answers 503 at once when the host refuses the call (unknown cluster), and logs the cluster", () => {
    const gw = new Gateway({ config: filterConfig({ keycloakCluster: "keycloak-typo" }) });
    const token = gw.token();
    for (let i = 0; i < 3; i++) {
      const d = denial(gw.request("/v1/models", { token }));
      expect(d.status).toBe(503);
      expect(d.retryAfter).toBe("1");
    }
    expect(gw.proxy.httpCalls).toHaveLength(0);
    expect(gw.counter("altgate.introspection_failures")).toBe(3);
    expect(gw.proxy.logs.messages("warn")).toContainEqual(expect.stringContaining("keycloak-typo"));
  });

  it("still passes a token cached before the outage, and new tokens once the issuer is back", () => {
    const gw = new Gateway();
    const cached = gw.token();
    gw.authenticate("/v1/models", cached);

    const newcomer = gw.token();
    const refused = gw.request("/v1/models", { token: newcomer });
    gw.onlyPendingCall().fail();
    expect(denial(refused).status).toBe(503);

    const during = gw.request("/v1/models", { token: cached });
    expect(during.state).toBe("continued");
    expect(upstreamHeader(during, "x-altgate-subject")).toBe(ALICE.sub);

    gw.proxy.advance(1000);
    const back = gw.authenticate("/v1/models", newcomer, { sub: "newcomer" });
    expect(upstreamHeader(back, "x-altgate-subject")).toBe("newcomer");
    expect(gw.proxy.httpCalls.map((c) => c.state)).toEqual(["answered", "failed", "answered"]);
  });
});

describe("counters and logs", () => {
  const NAMES = [
    "altgate.requests_allowed",
    "altgate.requests_denied",
    "altgate.requests_public",
    "altgate.denied.missing_token",
    "altgate.denied.malformed",
    "altgate.denied.invalid_token",
    "altgate.denied.forbidden",
    "altgate.denied.no_rule",
    "altgate.denied.bad_path",
    "altgate.denied.issuer_unavailable",
    "altgate.introspection_calls",
    "altgate.introspection_failures",
    "altgate.introspection_coalesced",
    "altgate.cache_hits",
    "altgate.cache_misses",
  ] as const;

  it("count each outcome once, under its own name", () => {
    const gw = new Gateway();
    const delta = (run: () => void): Record<string, number> => {
      const before = gw.counters(NAMES);
      run();
      const after = gw.counters(NAMES);
      return Object.fromEntries(NAMES.map((n) => [n, after[n]! - before[n]!]).filter(([, d]) => d !== 0));
    };
    const alice = gw.token();
    const nobody = gw.token();

    expect(delta(() => gw.request("/healthz"))).toEqual({ "altgate.requests_public": 1 });
    expect(delta(() => gw.request("/v1/models"))).toEqual({ "altgate.requests_denied": 1, "altgate.denied.missing_token": 1 });
    expect(delta(() => gw.request("/v1/models", { headers: [["authorization", "Basic eA=="]] }))).toEqual({
      "altgate.requests_denied": 1,
      "altgate.denied.malformed": 1,
    });
    expect(delta(() => gw.request("/v1/../x", { token: alice }))).toEqual({ "altgate.requests_denied": 1, "altgate.denied.bad_path": 1 });
    expect(delta(() => gw.authenticate("/v1/models", alice))).toEqual({
      "altgate.requests_allowed": 1,
      "altgate.introspection_calls": 1,
      "altgate.cache_misses": 1,
    });
    expect(delta(() => gw.request("/v1/models", { token: alice }))).toEqual({ "altgate.requests_allowed": 1, "altgate.cache_hits": 1 });
    expect(delta(() => gw.request("/v1/tokens", { token: alice }))).toEqual({
      "altgate.requests_denied": 1,
      "altgate.denied.forbidden": 1,
      "altgate.cache_hits": 1,
    });
    // No rule can be opened by any token, so the cache is not even consulted.
    expect(delta(() => gw.request("/v9", { token: alice }))).toEqual({
      "altgate.requests_denied": 1,
      "altgate.denied.no_rule": 1,
    });
    expect(delta(() => gw.authenticate("/v1/models", nobody, { active: false }))).toEqual({
      "altgate.requests_denied": 1,
      "altgate.denied.invalid_token": 1,
      "altgate.introspection_calls": 1,
      "altgate.cache_misses": 1,
    });
    expect(delta(() => gw.request("/v1/models", { token: nobody }))).toEqual({
      "altgate.requests_denied": 1,
      "altgate.denied.invalid_token": 1,
      "altgate.cache_hits": 1,
    });
    expect(
      delta(() => {
        const t = gw.token();
        gw.request("/v1/models", { token: t });
        gw.request("/v1/models", { token: t });
        gw.onlyPendingCall().fail();
      }),
    ).toEqual({
      "altgate.requests_denied": 2,
      "altgate.denied.issuer_unavailable": 2,
      "altgate.introspection_calls": 1,
      "altgate.introspection_failures": 1,
      "altgate.introspection_coalesced": 1,
      "altgate.cache_misses": 2,
    });
  });

  it("never log a token, at any level, whatever happens to it", () => {
    const gw = new Gateway({ proxy: { logLevel: "trace" }, config: filterConfig({ apiTokens: true }) });
    const scenarios: ((token: string) => void)[] = [
      (t) => gw.authenticate("/v1/models", t),
      (t) => gw.authenticate("/v1/models", t, { active: false }),
      (t) => gw.authenticate("/v1/models", t, { expiresInS: -10 }),
      (t) => gw.authenticate("/v1/tokens", t),
      (t) => {
        gw.request("/v1/models", { token: t });
        gw.onlyPendingCall().fail();
      },
      (t) => {
        gw.request("/v1/models", { token: t });
        gw.proxy.advance(TIMEOUT_MS);
      },
      (t) => {
        gw.request("/v1/models", { token: t });
        // An issuer that echoes the token back must not get it into a log either.
        gw.onlyPendingCall().respond({ status: 400, body: `{"error":"bad token ${t}"}` });
      },
      (t) => {
        gw.request("/v1/models", { token: t });
        gw.onlyPendingCall().respond({ body: `{"active":true,"sub":"${t}","exp":"${t}"}` });
      },
      (t) => gw.request("/v1/models", { headers: [["authorization", `Bearer ${t}`], ["authorization", `Bearer ${t}`]] }),
      (t) => gw.request("/v1/models", { headers: [["authorization", `Bearer ${t} ${t}`]] }),
    ];
    for (const run of scenarios) run(gw.token());
    for (const run of scenarios) run(gw.token("agt_"));
    expect(gw.proxy.logs.lines.length).toBeGreaterThan(0);
    // checkTokenLeaksAfterEach scans every log line; this makes the scan explicit here too.
    expect(gw.tokenLeaks()).toEqual([]);
  });
});

describe("identities held by the cache", () => {
  it("stay with their own token: one user's token never gets another user's identity", () => {
    const gw = new Gateway();
    const a = gw.token();
    const b = gw.token();
    gw.authenticate("/v1/models", a, { sub: "user-a", roles: ["model:read"] });
    gw.authenticate("/v1/models", b, { sub: "user-b", roles: ["model:read", "token:manage"] });
    for (let i = 0; i < 5; i++) {
      expect(upstreamHeader(gw.request("/v1/models", { token: a }), "x-altgate-subject")).toBe("user-a");
      expect(upstreamHeader(gw.request("/v1/models", { token: b }), "x-altgate-subject")).toBe("user-b");
      expect(denial(gw.request("/v1/tokens", { token: a })).status).toBe(403);
      expect(gw.request("/v1/tokens", { token: b }).state).toBe("continued");
    }
  });
});
