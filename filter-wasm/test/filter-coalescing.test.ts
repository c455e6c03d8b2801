// One introspection per token per proxy, however many requests arrive at once and on however many
// workers: the in-flight claim in shared data, local joining, remote waiting on ticks, takeover.
import { describe, expect, it } from "vitest";
import type { HttpStream } from "../host/index.ts";
import { checkTokenLeaksAfterEach, denial, Gateway, TIMEOUT_MS, upstreamHeader } from "./filter-helpers.ts";

checkTokenLeaksAfterEach();

/** How often a worker waiting on another worker's call re-reads the shared cache (root.ts). */
const POLL_MS = 5;
/** A claim lapses this long after it was made: the call's timeout plus a second's grace (root.ts). */
const CLAIM_MS = TIMEOUT_MS + 1000;

function states(streams: HttpStream[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of streams) out[s.state] = (out[s.state] ?? 0) + 1;
  return out;
}

describe("concurrent first requests with one token", () => {
  it("make one call on one worker, and all 200 resume with the answer", () => {
    const gw = new Gateway();
    const token = gw.token();
    const streams = Array.from({ length: 200 }, (_, i) => gw.request(`/v1/models/m${i}`, { token }));

    expect(states(streams)).toEqual({ paused: 200 });
    expect(gw.proxy.httpCalls).toHaveLength(1);
    gw.answer();

    expect(states(streams)).toEqual({ continued: 200 });
    for (const [i, s] of streams.entries()) {
      expect(upstreamHeader(s, ":path")).toBe(`/v1/models/m${i}`);
      expect(upstreamHeader(s, "x-altgate-username")).toBe("alice");
      expect(upstreamHeader(s, "authorization")).toBeUndefined();
    }
    expect(gw.counters(["altgate.introspection_calls", "altgate.introspection_coalesced", "altgate.cache_misses"])).toEqual({
      "altgate.introspection_calls": 1,
      "altgate.introspection_coalesced": 199,
      "altgate.cache_misses": 200,
    });
  });

  it("make one call for the whole proxy across two workers; the other worker's requests resume on its next tick", () => {
    const gw = new Gateway({ workers: 2 });
    const token = gw.token();
    const streams: HttpStream[][] = [[], []];
    // Interleaved, as two event loops would take them.
    for (let i = 0; i < 100; i++) for (const w of [0, 1]) streams[w]!.push(gw.request("/v1/models", { token, worker: w }));
    const [first, second] = streams as [HttpStream[], HttpStream[]];

    expect(gw.proxy.httpCalls).toHaveLength(1);
    expect(gw.proxy.httpCalls[0]!.worker).toBe(gw.workers[0]);
    gw.answer();
    expect(states(first)).toEqual({ continued: 100 });
    expect(states(second)).toEqual({ paused: 100 });

    gw.proxy.advance(POLL_MS);
    expect(states(second)).toEqual({ continued: 100 });
    for (const s of second) expect(upstreamHeader(s, "x-altgate-subject")).toBeDefined();
    expect(gw.proxy.httpCalls).toHaveLength(1);
    expect(gw.counter("altgate.introspection_coalesced")).toBe(199);
  });

  it("authorize each waiter for its own route", () => {
    const gw = new Gateway({ workers: 2 });
    const token = gw.token();
    const reads = [0, 1].map((w) => gw.request("/v1/models", { token, worker: w }));
    const manages = [0, 1].map((w) => gw.request("/v1/tokens", { token, worker: w }));
    const invokes = [0, 1].map((w) => gw.request("/v1/models/x/infer", { token, worker: w, method: "POST" }));
    gw.answer({ roles: ["model:read"] });
    gw.proxy.advance(POLL_MS);

    expect(states(reads)).toEqual({ continued: 2 });
    for (const s of [...manages, ...invokes]) expect(denial(s).status).toBe(403);
    expect(gw.proxy.httpCalls).toHaveLength(1);
  });

  it("with different tokens are never merged: each request gets its own token's identity", () => {
    const gw = new Gateway({ workers: 2 });
    const tokens = Array.from({ length: 40 }, () => gw.token());
    const streams = tokens.map((token, i) => gw.request("/v1/models", { token, worker: i % 2 }));
    expect(gw.proxy.httpCalls).toHaveLength(40);

    // Answered in reverse order: the answer for call k belongs to the token in its body.
    for (const call of [...gw.proxy.httpCalls].reverse()) {
      const token = new URLSearchParams(call.bodyText).get("token")!;
      const i = tokens.indexOf(token);
      call.respond({ body: keycloakLike(gw, `user-${i}`) });
    }
    for (const [i, s] of streams.entries()) expect(upstreamHeader(s, "x-altgate-subject")).toBe(`user-${i}`);
  });
});

function keycloakLike(gw: Gateway, sub: string): string {
  return JSON.stringify({ active: true, sub, exp: Math.floor(gw.nowMs / 1000) + 60, realm_access: { roles: ["model:read"] } });
}

describe("when the call everyone waits on fails", () => {
  it("every local waiter gets 503, and a later request makes a new call", () => {
    const gw = new Gateway();
    const token = gw.token();
    const streams = Array.from({ length: 50 }, () => gw.request("/v1/models", { token }));
    gw.onlyPendingCall().fail();

    for (const s of streams) {
      const d = denial(s);
      expect([d.status, d.retryAfter, d.body.error]).toEqual([503, "1", "temporarily_unavailable"]);
    }
    const later = gw.request("/v1/models", { token });
    expect(later.state).toBe("paused");
    expect(gw.proxy.httpCalls).toHaveLength(2);
    gw.answer();
    expect(later.state).toBe("continued");
  });

  it("the other worker's waiters take over with one call of their own", () => {
    const gw = new Gateway({ workers: 2 });
    const token = gw.token();
    const here = Array.from({ length: 10 }, () => gw.request("/v1/models", { token, worker: 0 }));
    const there = Array.from({ length: 10 }, () => gw.request("/v1/models", { token, worker: 1 }));
    gw.onlyPendingCall().fail();
    for (const s of here) expect(denial(s).status).toBe(503);

    gw.proxy.advance(POLL_MS);
    expect(gw.proxy.httpCalls).toHaveLength(2);
    const takeover = gw.onlyPendingCall();
    expect(takeover.worker).toBe(gw.workers[1]);
    expect(states(there)).toEqual({ paused: 10 });
    gw.answer();
    expect(states(there)).toEqual({ continued: 10 });
  });

  it("times out for the caller's requests, and the other worker's take over", () => {
    const gw = new Gateway({ workers: 2 });
    const token = gw.token();
    const here = gw.request("/v1/models", { token, worker: 0 });
    const there = gw.request("/v1/models", { token, worker: 1 });

    gw.proxy.advance(TIMEOUT_MS - 1);
    expect([here.state, there.state, gw.proxy.httpCalls.length]).toEqual(["paused", "paused", 1]);
    gw.proxy.advance(POLL_MS + 1);
    expect(denial(here).status).toBe(503);
    expect(gw.proxy.httpCalls.map((c) => [c.state, c.worker.id])).toEqual([
      ["timed-out", 1],
      ["pending", 2],
    ]);
    gw.answer();
    expect(there.state).toBe("continued");
  });
});

describe("a claim whose worker never answers", () => {
  /**
   * The shared data of a proxy in which a worker claimed `token` and then died: copied from a
   * gateway where the call is still pending into a fresh one that has no such call.
   */
  function orphanedClaim(): { gw: Gateway; token: string; abandon: () => void } {
    const dead = new Gateway();
    const token = dead.token();
    dead.request("/v1/models", { token });
    expect(dead.proxy.pendingHttpCalls).toHaveLength(1);

    const gw = new Gateway({ workers: 2 });
    gw.remember(token);
    for (const key of dead.proxy.sharedData.keys()) gw.proxy.sharedData.set(key, dead.proxy.sharedData.get(key)!.value);
    return { gw, token, abandon: () => dead.onlyPendingCall().fail() };
  }

  it("is taken over by a waiting worker once its deadline passes, with one call", () => {
    const { gw, token, abandon } = orphanedClaim();
    const waiting = [0, 1, 0, 1].map((w) => gw.request("/v1/models", { token, worker: w }));

    gw.proxy.advance(CLAIM_MS - 1);
    expect(states(waiting)).toEqual({ paused: 4 });
    expect(gw.proxy.httpCalls).toHaveLength(0);

    gw.proxy.advance(POLL_MS);
    // Both workers notice on their ticks; the first to claim calls, the other waits on it.
    expect(gw.proxy.httpCalls).toHaveLength(1);
    gw.answer();
    gw.proxy.advance(POLL_MS);
    expect(states(waiting)).toEqual({ continued: 4 });
    expect(gw.proxy.httpCalls).toHaveLength(1);
    abandon();
  });

  it("stops the polling once nobody waits", () => {
    const { gw, token, abandon } = orphanedClaim();
    gw.request("/v1/models", { token });
    gw.proxy.advance(CLAIM_MS + POLL_MS);
    gw.answer();
    gw.proxy.advance(POLL_MS);
    // Count the filter's shared-data reads: a tick left armed would read every 5 ms.
    const shared = gw.proxy.sharedData;
    const get = shared.get.bind(shared);
    let reads = 0;
    shared.get = (...args) => (reads++, get(...args));
    gw.proxy.advance(60_000);
    expect(reads).toBe(0);
    expect(gw.proxy.httpCalls).toHaveLength(1);
    abandon();
  });
});

describe("clients that go away while waiting", () => {
  it("do not stop the others from resuming, on the caller's worker or another", () => {
    const gw = new Gateway({ workers: 2 });
    const token = gw.token();
    const streams = [0, 0, 0, 1, 1, 1].map((w) => gw.request("/v1/models", { token, worker: w }));
    streams[0]!.close(); // the one whose request made the call
    streams[4]!.close();

    gw.answer();
    gw.proxy.advance(POLL_MS);
    expect(streams.map((s) => s.state)).toEqual(["reset", "continued", "continued", "continued", "reset", "continued"]);
    gw.expectAlive();
  });

  it("leave nothing behind when every waiter is gone before the answer", () => {
    const gw = new Gateway();
    const token = gw.token();
    for (let i = 0; i < 5; i++) gw.request("/v1/models", { token }).close();
    gw.answer();
    gw.expectAlive();
    expect(gw.request("/v1/models", { token }).state).toBe("continued");
    expect(gw.proxy.httpCalls).toHaveLength(1);
  });
});
