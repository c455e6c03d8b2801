// bench:filter's "Wasm floor + a hit's host calls" row stands for what altgate's cache hit asks of
// Envoy. These tests keep its filter honest: the same proxy-wasm calls, in the same numbers, as the
// altgate filter makes on a cache hit with the stack's configuration.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Proxy, type Worker } from "../../filter-wasm/host/index.ts";
import { FILTER_WASM } from "../harness/build-filter.ts";
import { FILTER_CONFIG, introspectionBody, requestHeaders } from "../bench/cache-hit-fixture.ts";
import { buildFloorFilter } from "../bench/wasm-floor/build.ts";

/** The proxy_* calls, by name, that one request makes once the worker has seen it before. */
function callsOfARepeatRequest(proxy: Proxy, worker: Worker, warmUp: () => void): Record<string, number> {
  warmUp();
  const counts = new Map<string, number>();
  proxy.hostCallCounts = counts;
  const stream = worker.request({ headers: requestHeaders() });
  proxy.hostCallCounts = undefined;
  expect(stream.state, stream.localResponse?.bodyText).toBe("continued");
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

describe("bench:filter's host-call floor", () => {
  let dir: string;
  let hostCallsWasm: Uint8Array;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "altgate-host-calls-"));
    hostCallsWasm = readFileSync(await buildFloorFilter("hostCalls", dir));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("makes the same host calls as an altgate cache hit with the stack's configuration", () => {
    const altgateProxy = new Proxy();
    const altgate = altgateProxy.createWorker(readFileSync(FILTER_WASM), { configuration: JSON.stringify(FILTER_CONFIG), rootId: "altgate", vmId: "altgate" });
    expect(altgate.configured).toBe(true);
    const altgateCalls = callsOfARepeatRequest(altgateProxy, altgate, () => {
      const first = altgate.request({ headers: requestHeaders() });
      altgateProxy.pendingHttpCalls[0]!.respond({ status: 200, headers: [["content-type", "application/json"]], body: introspectionBody(altgateProxy.nowMs) });
      expect(first.state).toBe("continued");
      // The first tick polls the revocation feed, which never answers in the bench (its upstream says "ok").
      altgateProxy.advance(10);
      for (const c of altgateProxy.pendingHttpCalls) c.respond({ status: 200, headers: [["content-type", "text/plain"]], body: "ok" });
    });
    expect(altgateProxy.metrics.counter("altgate.cache_hits")).toBe(1);

    const floorProxy = new Proxy();
    const floor = floorProxy.createWorker(hostCallsWasm, { configuration: "{}", rootId: "altgate", vmId: "floor" });
    expect(floor.configured).toBe(true);
    const floorCalls = callsOfARepeatRequest(floorProxy, floor, () => undefined);

    expect(floorCalls).toEqual(altgateCalls);
    // What the calls are, so that a change on both sides still shows here.
    expect(altgateCalls).toEqual({
      proxy_get_current_time_nanoseconds: 1,
      proxy_get_header_map_pairs: 1,
      proxy_get_shared_data: 1,
      proxy_increment_metric: 2,
      proxy_remove_header_map_value: 1,
      proxy_replace_header_map_value: 7,
    });
  });

  it("changes the request as an altgate cache hit does: Authorization out, the seven identity headers in", () => {
    const proxy = new Proxy();
    const floor = proxy.createWorker(hostCallsWasm, { configuration: "{}", rootId: "altgate", vmId: "floor" });
    const stream = floor.request({ headers: requestHeaders() });
    const names = stream.upstreamRequest!.headers.map(([n]) => n);
    expect(names).not.toContain("authorization");
    expect(names.filter((n) => n.startsWith("x-altgate-")).sort()).toEqual(
      ["client", "roles", "scopes", "subject", "token-id", "token-kind", "username"].map((s) => `x-altgate-${s}`),
    );
  });
});
