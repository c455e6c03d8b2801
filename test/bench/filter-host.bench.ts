/**
 * The filter's cache-hit path in the test host (filter-wasm/host), without Envoy or Keycloak: one
 * worker with the stack's configuration, one Keycloak-sized token introspected once, then many
 * requests that all hit the cache, with some streams held open (the SDK's per-stream bookkeeping
 * used to grow with them). Reports, per request, the time spent inside the module's exports (the
 * host's imports included, as JavaScript) and the process CPU time. The figures compare builds on
 * one machine; Envoy's own cost is what `npm run bench:filter` measures.
 *
 * Also times SHA-256 of the token alone, what a token's first request in a worker adds.
 *
 * BENCH_REVOKED=n (0; at most 80,000, what one feed answer under the filter's 4 MiB limit holds)
 * has the revocation feed's first answer list n other keys, so that every request reads a revoked
 * set shard of about n / 256 entries.
 *
 *   node --import tsx test/bench/filter-host.bench.ts [requests=200000] [openStreams=0,1000] [wasm...]
 */
import { readFileSync } from "node:fs";
import { Proxy, type HttpStream } from "../../filter-wasm/host/index.ts";
import { FILTER_WASM } from "../harness/build-filter.ts";
import { sha256Cost } from "./sha256-cost.ts";
import { FILTER_CONFIG, introspectionBody, requestHeaders, TOKEN } from "./cache-hit-fixture.ts";

const REVOKED = Number(process.env.BENCH_REVOKED ?? 0);
if (!Number.isInteger(REVOKED) || REVOKED < 0 || REVOKED > 80_000) throw new Error(`BENCH_REVOKED must be an integer from 0 to 80000, not ${process.env.BENCH_REVOKED}`);

/** The feed's first answer: REVOKED keys that are not the token's, valid for a day. */
function feedBody(nowMs: number): string {
  const exp = Math.floor(nowMs / 1000) + 86_400;
  return JSON.stringify({ cursor: "c1", revoked: Array.from({ length: REVOKED }, (_, i) => ({ key: `revoked-key-${i}`, exp })) });
}

interface Result {
  wasm: string;
  openStreams: number;
  wasmUsPerRequest: number;
  cpuUsPerRequest: number;
}

function run(wasmPath: string, requests: number, openStreams: number): Result {
  const proxy = new Proxy({ startTimeMs: Date.now() });
  const worker = proxy.createWorker(readFileSync(wasmPath), { configuration: JSON.stringify(FILTER_CONFIG), rootId: "altgate", vmId: "bench" });
  if (!worker.started || !worker.configured) throw new Error(`the filter did not start: ${JSON.stringify(proxy.logs.lines.slice(-5))}`);

  // Time inside every export call, wrapped where the host looks exports up.
  const host = worker as unknown as { exports: Record<string, unknown> };
  const exports = { ...host.exports };
  host.exports = exports;
  let insideNs = 0n;
  for (const [name, fn] of Object.entries(exports)) {
    if (typeof fn !== "function" || !name.startsWith("proxy_on_")) continue;
    exports[name] = (...args: unknown[]) => {
      const t = process.hrtime.bigint();
      try {
        return (fn as (...a: unknown[]) => unknown)(...args);
      } finally {
        insideNs += process.hrtime.bigint() - t;
      }
    };
  }

  const first = worker.request({ headers: requestHeaders() });
  const call = proxy.pendingHttpCalls[0];
  if (!call) throw new Error(`the first request made no introspection call (${first.state}: ${first.localResponse?.bodyText ?? ""})`);
  call.respond({ status: 200, headers: [["content-type", "application/json"]], body: introspectionBody(proxy.nowMs) });
  // The first tick polls the revocation feed.
  proxy.advance(10);
  for (const c of proxy.pendingHttpCalls) c.respond({ status: 200, headers: [["content-type", "application/json"]], body: feedBody(proxy.nowMs) });
  const polls = proxy.metrics.counter("altgate.revocation_polls") ?? 0;
  const failures = proxy.metrics.counter("altgate.revocation_poll_failures") ?? 0;
  if (polls !== 1 || failures > 0) throw new Error(`${polls} revocation feed polls, ${failures} failed: ${JSON.stringify(proxy.logs.lines.slice(-3))}`);
  if (first.state !== "continued") throw new Error(`the first request was not allowed: ${first.localResponse?.bodyText ?? ""}`);
  first.respond({ status: 200, body: "ok" });

  const open: HttpStream[] = [];
  for (let i = 0; i < openStreams; i++) open.push(worker.request({ headers: requestHeaders() }));

  const one = () => {
    const s = worker.request({ headers: requestHeaders() });
    if (s.state !== "continued") throw new Error(`a cache hit was not allowed: ${s.state} ${s.localResponse?.bodyText ?? ""}`);
    s.respond({ status: 200, body: "ok" });
  };
  for (let i = 0; i < Math.min(20_000, requests); i++) one();

  insideNs = 0n;
  const cpu = process.cpuUsage();
  for (let i = 0; i < requests; i++) one();
  const used = process.cpuUsage(cpu);
  if (worker.trapped) throw new Error(`the filter trapped: ${worker.trapped.message}`);
  for (const s of open) s.close();
  return {
    wasm: wasmPath,
    openStreams,
    wasmUsPerRequest: Number(insideNs) / 1000 / requests,
    cpuUsPerRequest: (used.user + used.system) / requests,
  };
}

const requests = Number(process.argv[2] ?? 200_000);
const opens = (process.argv[3] ?? "0,1000").split(",").map(Number);
const builds = process.argv.length > 4 ? process.argv.slice(4) : [FILTER_WASM];
for (const openStreams of opens) {
  for (const wasm of builds) {
    const r = run(wasm, requests, openStreams);
    console.log(
      `${r.wasm}  open streams ${r.openStreams}, revoked set ${REVOKED}: in exports ${r.wasmUsPerRequest.toFixed(2)} µs/request, ` +
        `process CPU ${r.cpuUsPerRequest.toFixed(2)} µs/request`,
    );
  }
}
console.log(`SHA-256 of one ${TOKEN.length}-byte token alone: ${(await sha256Cost(TOKEN, requests)).toFixed(2)} µs`);
