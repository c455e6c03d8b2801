// bench:filter's "Wasm floor + a hit's host calls" row stands for what altgate's cache hit asks of
// Envoy. These tests keep its filter honest: the same proxy-wasm calls, in the same numbers, as the
// altgate filter makes on a cache hit with the stack's configuration.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devFilterConfig } from "../../envoy/filter-config.ts";
import { Proxy, type Worker } from "../../filter-wasm/host/index.ts";
import { FILTER_WASM } from "../harness/build-filter.ts";
import { buildFloorFilter } from "../bench/wasm-floor/build.ts";

const ISSUER = "http://keycloak:8080/realms/altgate";
const TOKEN = `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.${"eyJleHAiOjE3MDAwMDAwMDB9".repeat(40)}.${"sig_-".repeat(68)}`;

/** What the bench's load generator sends, with what Envoy adds before the filter runs. */
const REQUEST: [string, string][] = [
  [":authority", "127.0.0.1:10001"], [":path", "/v1/models"], [":method", "GET"], [":scheme", "http"],
  ["user-agent", "autocannon"], ["authorization", `Bearer ${TOKEN}`],
  ["x-forwarded-proto", "http"], ["x-request-id", "0b7f3c1e-5d2a-4c9b-8e6f-1a2b3c4d5e6f"],
];

function introspectionBody(nowMs: number): string {
  const nowS = Math.floor(nowMs / 1000);
  return JSON.stringify({
    active: true, exp: nowS + 3600, iat: nowS, jti: "onrtcc:7d1e9a7c-0b5f-4a55-8c1e-000000000001", iss: ISSUER,
    aud: ["altgate-gateway"], sub: "5f0c2a4e-1b7d-4c55-9e0f-a11ce0000001", azp: "altgate-machine",
    realm_access: { roles: ["model:read", "model:invoke", "offline_access", "default-roles-altgate"] },
    scope: "profile email", client_id: "altgate-machine", username: "service-account-altgate-machine",
  });
}

/** The proxy_* calls, by name, that one request makes once the worker has seen it before. */
function callsOfARepeatRequest(proxy: Proxy, worker: Worker, warmUp: () => void): Record<string, number> {
  warmUp();
  const counts = new Map<string, number>();
  proxy.hostCallCounts = counts;
  const stream = worker.request({ headers: REQUEST });
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
    const config = devFilterConfig({ keycloakAuthority: "keycloak:8080", realm: "altgate", issuer: ISSUER });
    const altgate = altgateProxy.createWorker(readFileSync(FILTER_WASM), { configuration: JSON.stringify(config), rootId: "altgate", vmId: "altgate" });
    expect(altgate.configured).toBe(true);
    const altgateCalls = callsOfARepeatRequest(altgateProxy, altgate, () => {
      const first = altgate.request({ headers: REQUEST });
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
    const stream = floor.request({ headers: REQUEST });
    const names = stream.upstreamRequest!.headers.map(([n]) => n);
    expect(names).not.toContain("authorization");
    expect(names.filter((n) => n.startsWith("x-altgate-")).sort()).toEqual(
      ["client", "roles", "scopes", "subject", "token-id", "token-kind", "username"].map((s) => `x-altgate-${s}`),
    );
  });
});
