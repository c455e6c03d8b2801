/**
 * npm run bench:filter — the altgate filter's cost, measured through real Envoy on loopback, side
 * by side with no filter and with Envoy's native jwt_authn, in one run and with one load generator.
 *
 *   1. nofilter      Envoy routing straight to the upstream
 *      nofilter_no_token  the same listener, requests without the Authorization header
 *      wasm_floor    an empty proxy-wasm filter (test/bench/wasm-floor): the cost of any Wasm filter
 *      wasm_host_calls  a filter making the host calls of an altgate cache hit and nothing else:
 *                    what Envoy spends on what the contract has a hit ask of it
 *   2. jwt_authn     envoy.filters.http.jwt_authn verifying the same Keycloak tokens (remote JWKS)
 *   3. altgate_hit   the altgate filter, one warmed token: every request a cache hit
 *   4. altgate_miss  the altgate filter, a fresh token per request: every request introspects
 *
 * Every configuration but nofilter_no_token gets the same requests, the Keycloak token included, so
 * each differs from nofilter by its filter alone. One Envoy process, one listener per configuration,
 * all routing to the same upstream (a listener of the same Envoy answering 200 "ok" with
 * direct_response). Real Keycloak from the harness issues the tokens, serves the JWKS and answers
 * the introspection calls. See README.md, "Benchmarks".
 *
 * A benchmark, not a test: a missed target is reported, not failed. The process fails only when the
 * measurement itself is wrong (a non-2xx answer, a connection error, a component that did not start).
 *
 * Knobs (environment): BENCH_ROUNDS (5), BENCH_ENVOY_WORKERS (1), BENCH_CONNECTIONS (16),
 * BENCH_PIN (1: Envoy's workers and the load generator on separate cores), BENCH_UPSTREAM
 * (envoy | node: a tiny Node http server instead of the direct_response listener), BENCH_PROFILE
 * (0; 1: after the rounds, record Envoy with perf under each configuration's load, cpu-profile.ts).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { runRoot, log } from "../harness/paths.ts";
import { freePort } from "../harness/ports.ts";
import { registered, spawnComponent, stopProcess, tail, useRegistry, type Managed } from "../harness/processes.ts";
import { waitUntilReady, httpOk } from "../harness/readiness.ts";
import { ensureTools } from "../harness/tools.ts";
import { buildFilter } from "../harness/build-filter.ts";
import { buildFloorFilter } from "./wasm-floor/build.ts";
import { startKeycloak, REALM } from "../harness/components/keycloak.ts";
import { devFilterConfig } from "../../envoy/filter-config.ts";
import { CONFIGS, LABELS, listenerOf, renderBenchBootstrap, type ConfigName, type ListenerName } from "./envoy-config.ts";
import { runLoad, type LoadResult } from "./load.ts";
import { fetchTokens } from "./tokens.ts";
import { hostCacheMemory, type HostMemory } from "./host-memory.ts";
import { sha256Cost } from "./sha256-cost.ts";
import { formatReport, type Summary } from "./report.ts";
import { classify, ensurePerf, mergeSamples, readPerf, recordPerf, type Samples } from "./cpu-profile.ts";

const env = (name: string, fallback: number) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const ROUNDS = env("BENCH_ROUNDS", 5);
const WORKERS = env("BENCH_ENVOY_WORKERS", 1);
const CONNECTIONS = env("BENCH_CONNECTIONS", 16);
const PIN = env("BENCH_PIN", 1) === 1;
const UPSTREAM = process.env.BENCH_UPSTREAM === "node" ? "node" : "envoy";
const PROFILE = env("BENCH_PROFILE", 0) === 1;
/** The configurations profiled, no filter first: its recording tells the others' own code apart. */
const PROFILED = ["nofilter", "wasm_floor", "wasm_host_calls", "jwt_authn", "altgate_hit"] as const;
const CACHE_FILL = 10_000;

/** Per run: [requests, seconds]. Miss runs are bounded by the fresh tokens each one consumes. */
const PLAN = {
  warmup: { hit: [50_000, 1.5], miss: [300, 1.5] },
  latency: { hit: [30_000, 1.5], miss: [300, 1.5] },
  throughput: { hit: [300_000, 2], miss: [1_200, 2] },
} as const;
const bounds = (kind: keyof typeof PLAN, config: ConfigName) => PLAN[kind][config === "altgate_miss" ? "miss" : "hit"];
const missTokensNeeded = () => {
  const per = (kind: keyof typeof PLAN) => bounds(kind, "altgate_miss")[0] + 2 * CONNECTIONS;
  return per("warmup") + ROUNDS * (per("latency") + per("throughput"));
};

interface Run extends LoadResult {
  /** Envoy's CPU time (all threads) during the run, per completed request. */
  envoyCpuUsPerRequest: number;
  /** Envoy's and the load generator's CPU time during the run, in cores. */
  envoyCpuShare: number;
  loadCpuShare: number;
}

interface Measured {
  latency: Run[];
  throughput: Run[];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The machine's 1-minute load average: other work on this shared 2-core machine shows here. */
function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}

/** CPU time (ns) of every process in process group `pgid` (a component and its children). */
function groupCpuNs(pgid: number): number {
  let ns = 0;
  for (const pid of groupPids(pgid)) ns += processCpuNs(pid);
  return ns;
}

function groupPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command's closing parenthesis: state, ppid, pgrp, ...
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) === pgid) pids.push(Number(entry));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return pids;
}

/**
 * Once the tokens are issued, Keycloak is only needed for the miss runs' introspections: it moves
 * to the load generator's cores, and the measurements wait (at most 30 s) until it has settled
 * below a tenth of a core, so that nothing but Envoy runs on Envoy's core.
 */
async function quietKeycloak(keycloak: Managed, cpus: string | undefined): Promise<void> {
  if (cpus !== undefined) {
    for (const pid of groupPids(keycloak.pid)) execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
  }
  const until = Date.now() + 30_000;
  let share = Infinity;
  while (Date.now() < until) {
    const before = groupCpuNs(keycloak.pid);
    await new Promise((r) => setTimeout(r, 1000));
    share = (groupCpuNs(keycloak.pid) - before) / 1e9;
    if (share < 0.1) break;
  }
  log("bench", `keycloak ${cpus === undefined ? "" : `moved to CPU ${cpus}, `}busy ${(share * 100).toFixed(0)}% of a core before the measurements`);
}

function cpuList(from: number, to: number): string {
  return from === to ? String(from) : `${from}-${to}`;
}

/** CPU time (ns) all threads of `pid` have run, from the scheduler's per-thread accounting. */
function processCpuNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns;
}

async function envoyStats(adminUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${adminUrl}/stats`, { signal: AbortSignal.timeout(5000) })).text();
  const stats = new Map<string, number>();
  for (const line of text.split("\n")) {
    const i = line.lastIndexOf(": ");
    if (i > 0) {
      const v = Number(line.slice(i + 2));
      if (Number.isFinite(v)) stats.set(line.slice(0, i), v);
    }
  }
  return stats;
}

async function envoyMemory(adminUrl: string, pid: number): Promise<{ allocated: number; heap: number; rss: number }> {
  const m = (await (await fetch(`${adminUrl}/memory`, { signal: AbortSignal.timeout(5000) })).json()) as { allocated: string; heap_size: string };
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { allocated: Number(m.allocated), heap: Number(m.heap_size), rss: rssKb * 1024 };
}

/** One request per listener, before anything is measured; a wrong answer stops the bench with the evidence. */
async function sanityCheck(name: ListenerName | "memory", url: string, token: string, logFile: string): Promise<void> {
  const res = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  if (res.status === 200 && body === "ok") return;
  const lines = tail(logFile, 400)
    .split("\n")
    .filter((l) => /wasm|altgate|jwt|critical|error/i.test(l))
    .slice(-25)
    .join("\n");
  throw new Error(
    `${name}: a valid Keycloak token got ${res.status} instead of 200 "ok"\n` +
      `  www-authenticate: ${res.headers.get("www-authenticate") ?? "(none)"}\n  body: ${body.slice(0, 500)}\n` +
      `--- Envoy log lines (${logFile}) ---\n${lines || "(none matching)"}\n---`,
  );
}

async function main(): Promise<number> {
  const started = Date.now();
  const runDir = join(runRoot, `bench-${process.pid}-${Date.now()}`);
  mkdirSync(join(runDir, "logs"), { recursive: true });
  useRegistry(join(runDir, "processes.json"));
  const stopAll = async () => {
    for (const m of registered().reverse()) await stopProcess(m, m.name === "keycloak" ? 20_000 : 10_000).catch(() => undefined);
  };
  let interrupted = false;
  const onSignal = (sig: string) => {
    if (interrupted) return;
    interrupted = true;
    log("bench", `${sig}: stopping`);
    void stopAll().then(() => process.exit(130));
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));

  try {
    const tools = await ensureTools();
    if (PROFILE) await ensurePerf();
    log("bench", `run directory ${runDir}`);
    // Keycloak on every core: it is busy only while it issues and introspects tokens. The filter
    // builds meanwhile.
    const steps = [startKeycloak(tools.keycloak, runDir), buildFilter(), buildFloorFilter("empty", runDir), buildFloorFilter("hostCalls", runDir)] as const;
    // Every step settles before a failed one ends the bench, so that Keycloak is never left starting unwatched.
    await Promise.allSettled(steps);
    const [keycloak, wasmPath, floorWasmPath, hostCallsWasmPath] = await Promise.all(steps);
    const wasmBytes = statSync(wasmPath).size;
    log("bench", `keycloak ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const cores = availableParallelism();
    const pin = PIN && WORKERS < cores;
    const envoyCpus = pin ? cpuList(0, WORKERS - 1) : cpuList(0, cores - 1);
    const loadCpus = pin ? cpuList(WORKERS, cores - 1) : cpuList(0, cores - 1);
    if (pin) {
      // This process is the load generator: its threads go to the cores Envoy's workers do not use.
      execFileSync("taskset", ["-a", "-p", "-c", loadCpus, String(process.pid)], { stdio: "ignore" });
    }

    const poolSize = Math.max(CACHE_FILL + 2 * CONNECTIONS, missTokensNeeded());
    log("bench", `fetching ${poolSize + 1} access tokens (client credentials of altgate-machine)`);
    const pool = await fetchTokens(keycloak.tokenEndpoint, poolSize, 16);
    const [hitToken] = (await fetchTokens(keycloak.tokenEndpoint, 1, 1)).tokens as [string];
    log("bench", `tokens issued in ${pool.seconds.toFixed(1)} s (${(poolSize / pool.seconds).toFixed(0)}/s); they expire in ${pool.earliestExp - Math.round(Date.now() / 1000)} s`);
    await quietKeycloak(keycloak.process, pin ? loadCpus : undefined);

    // Envoy and the upstream.
    const ports = {
      nofilter: await freePort(), wasm_floor: await freePort(), wasm_host_calls: await freePort(), jwt_authn: await freePort(),
      altgate_hit: await freePort(), altgate_miss: await freePort(), memory: await freePort(),
    };
    const [adminPort, upstreamPort] = [await freePort(), await freePort()];
    let upstream: Managed | undefined;
    if (UPSTREAM === "node") {
      const script = `require("node:http").createServer((q,s)=>{q.resume();q.on("end",()=>{s.writeHead(200,{"content-type":"text/plain","content-length":"2"});s.end("ok")})}).listen(${upstreamPort},"127.0.0.1")`;
      upstream = spawnComponent({ name: "upstream", command: "taskset", args: ["-c", loadCpus, process.execPath, "-e", script], logFile: join(runDir, "logs", "upstream.log") });
      await waitUntilReady(upstream, () => httpOk(`http://127.0.0.1:${upstreamPort}/`), 10_000, "200 from /");
    }
    const filterConfig = devFilterConfig({ keycloakAuthority: `127.0.0.1:${keycloak.port}`, realm: REALM, issuer: keycloak.issuer });
    const configFile = join(runDir, "envoy.json");
    writeFileSync(configFile, JSON.stringify(renderBenchBootstrap({
      adminPort, ports, upstreamPort, directResponseUpstream: UPSTREAM === "envoy",
      keycloakPort: keycloak.port, issuer: keycloak.issuer, wasmPath, floorWasmPath, hostCallsWasmPath, filterConfig,
    }), null, 2));
    const envoyLog = join(runDir, "logs", "envoy.log");
    const envoy = spawnComponent({
      name: "envoy",
      command: "taskset",
      args: ["-c", envoyCpus, tools.envoy, "-c", configFile, "--concurrency", String(WORKERS), "--base-id", String(adminPort), "--log-level", "info"],
      logFile: envoyLog,
    });
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    await waitUntilReady(envoy, async () => (await (await fetch(`${adminUrl}/ready`, { signal: AbortSignal.timeout(2000) })).text()).trim() === "LIVE", 30_000, "LIVE from /ready");
    const url = (c: ListenerName | "memory") => `http://127.0.0.1:${ports[c]}`;

    // Proof that every configuration answers a valid token with the upstream's 200 "ok".
    for (const c of Object.keys(ports) as (ListenerName | "memory")[]) {
      await sanityCheck(c, url(c), hitToken, envoyLog);
    }

    let non2xx = 0;
    const problems: string[] = [];
    // Never throws inside the load generator: a pool that ran dry sends a bad token, which shows as
    // non-2xx answers and makes the run invalid, with this reason.
    const drawFrom = (what: string) => {
      let cursor = 0;
      const next = () => {
        const t = pool.tokens[cursor++];
        if (t !== undefined) return t;
        if (cursor === pool.tokens.length + 1) problems.push(`${what} ran out of fresh tokens`);
        return "exhausted";
      };
      return { next, used: () => Math.min(cursor, pool.tokens.length) };
    };
    const missTokens = drawFrom("the miss configuration");
    const run = async (kind: keyof typeof PLAN, c: ConfigName): Promise<Run> => {
      const [maxRequests, maxSeconds] = bounds(kind, c);
      const envoyCpu0 = processCpuNs(envoy.pid);
      const loadCpu0 = process.cpuUsage();
      const r = await runLoad({
        url: `${url(listenerOf(c))}/v1/models`,
        connections: kind === "latency" ? 1 : CONNECTIONS,
        maxRequests, maxSeconds,
        ...(c === "altgate_miss" ? { nextToken: missTokens.next } : c === "nofilter_no_token" ? {} : { token: hitToken }),
      });
      const loadCpu = process.cpuUsage(loadCpu0);
      const envoyCpuUs = (processCpuNs(envoy.pid) - envoyCpu0) / 1000;
      const result: Run = {
        ...r,
        envoyCpuUsPerRequest: envoyCpuUs / Math.max(1, r.requests),
        envoyCpuShare: envoyCpuUs / 1e6 / r.seconds,
        loadCpuShare: (loadCpu.user + loadCpu.system) / 1e6 / r.seconds,
      };
      if (r.non2xx > 0) {
        non2xx += r.non2xx;
        problems.push(`${c} ${kind}: ${r.non2xx} non-2xx or failed of ${r.requests} (status codes ${JSON.stringify(r.statusCodes)}, errors ${r.errors})`);
      }
      log(
        "bench",
        `${kind.padEnd(10)} ${c.padEnd(13)} ${r.requests.toString().padStart(6)} req in ${r.seconds.toFixed(2)} s ${r.rps.toFixed(0).padStart(6)} req/s  ` +
          `p50 ${r.p50us.toFixed(0)} µs  p99 ${r.p99us.toFixed(0)} µs  envoy ${result.envoyCpuUsPerRequest.toFixed(1)} µs CPU/req ` +
          `(${(result.envoyCpuShare * 100).toFixed(0)}% of a core), load generator ${(result.loadCpuShare * 100).toFixed(0)}%` +
          (r.non2xx > 0 ? `  NON-2XX ${r.non2xx} ${JSON.stringify(r.statusCodes)}` : ""),
      );
      return result;
    };

    const loadBefore = loadAverage();
    // Warm-up: connection pools, the JWKS, the VMs' JIT and allocator, the hit token's cache entry.
    for (const c of CONFIGS) await run("warmup", c);
    const before = await envoyStats(adminUrl);

    // Rounds, each configuration in turn (the order rotates), so drift on this shared machine
    // spreads over all of them; each round's latency run (one connection, no queueing) and
    // throughput run (CONNECTIONS connections, Envoy saturated) are reported as medians.
    const measured = Object.fromEntries(CONFIGS.map((c) => [c, { latency: [], throughput: [] }])) as unknown as Record<ConfigName, Measured>;
    const counters: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const order = CONFIGS.map((_, i) => CONFIGS[(i + round) % CONFIGS.length]!);
      for (const c of order) {
        const s0 = await envoyStats(adminUrl);
        measured[c].latency.push(await run("latency", c));
        measured[c].throughput.push(await run("throughput", c));
        const s1 = await envoyStats(adminUrl);
        for (const k of ["cache_hits", "cache_misses", "introspection_calls", "requests_denied"]) {
          const key = `wasmcustom.altgate.${k}`;
          counters[`${c}.${k}`] = (counters[`${c}.${k}`] ?? 0) + (s1.get(key) ?? 0) - (s0.get(key) ?? 0);
        }
      }
    }
    const after = await envoyStats(adminUrl);
    const loadAfter = loadAverage();

    // Where the CPU goes: each configuration saturates Envoy while perf records it, in three
    // rotations of 3 s recordings, so drift on the machine spreads over all of them.
    let profile: Summary["profile"];
    if (PROFILE) {
      const recorded = PROFILED.map((c) => ({ c, samples: [] as Samples[], usPerRequest: [] as number[] }));
      for (let rotation = 0; rotation < 3; rotation++) {
        for (const entry of recorded) {
          const c = entry.c;
          const load = runLoad({ url: `${url(c)}/v1/models`, connections: CONNECTIONS, maxRequests: 300_000, maxSeconds: 5, token: hitToken });
          await new Promise((r) => setTimeout(r, 1000));
          const file = join(runDir, `perf-${c}-${rotation}.data`);
          await recordPerf(envoy.pid, 3, file);
          const r = await load;
          if (r.non2xx > 0) problems.push(`${c} profile run: ${r.non2xx} non-2xx or failed of ${r.requests}`);
          entry.samples.push(await readPerf(file));
          entry.usPerRequest.push(1e6 / r.rps);
          log("bench", `profiled ${c}: ${r.rps.toFixed(0)} req/s under perf`);
        }
      }
      const merged = recorded.map((e) => ({ c: e.c, samples: mergeSamples(e.samples), usPerRequest: median(e.usPerRequest) }));
      const baseline = merged[0]!.samples;
      profile = merged.map(({ c, samples, usPerRequest }) => ({ config: c, usPerRequest, samples: samples.total, shares: classify(samples, baseline) }));
    }

    // Memory: Envoy's allocator before and after 10,000 distinct tokens fill the cache of a VM
    // (vm_id altgate-memory) that no measurement touched.
    const envoyPid = envoy.pid;
    await new Promise((r) => setTimeout(r, 1000));
    const memBefore = await envoyMemory(adminUrl, envoyPid);
    const statsBeforeFill = await envoyStats(adminUrl);
    const left = pool.earliestExp - Date.now() / 1000;
    if (left < 30) log("bench", `the pool's first tokens expire in ${left.toFixed(0)} s: the cache fill may see 401s (the run was slow)`);
    const fill = await runLoad({
      url: `${url("memory")}/v1/models`, connections: CONNECTIONS, maxRequests: CACHE_FILL, maxSeconds: 90,
      nextToken: drawFrom("the cache fill").next,
    });
    if (fill.non2xx > 0) {
      non2xx += fill.non2xx;
      problems.push(`cache fill: ${fill.non2xx} non-2xx or failed of ${fill.requests} (${JSON.stringify(fill.statusCodes)})`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const memAfter = await envoyMemory(adminUrl, envoyPid);
    const statsAfterFill = await envoyStats(adminUrl);
    const fillDelta = (k: string) => (statsAfterFill.get(`wasmcustom.altgate.${k}`) ?? 0) - (statsBeforeFill.get(`wasmcustom.altgate.${k}`) ?? 0);
    log("bench", `cache fill: ${fill.requests} requests in ${fill.seconds.toFixed(1)} s; envoy allocated ${memBefore.allocated} -> ${memAfter.allocated} bytes`);

    // The exact view from the test host, with a real introspection answer from this Keycloak.
    const introspection = await fetch(`${keycloak.url}${keycloak.introspectionPath}`, {
      method: "POST",
      body: new URLSearchParams({ token: hitToken, client_id: "altgate-gateway", client_secret: "gateway-dev-secret" }),
    });
    const introspectionBody = await introspection.text();
    let host: HostMemory | undefined;
    try {
      host = hostCacheMemory(wasmPath, filterConfig, introspectionBody, CACHE_FILL);
    } catch (err) {
      problems.push(`test host memory measurement failed: ${(err as Error).message}`);
    }

    const sha256Us = await sha256Cost(hitToken);

    const summary: Summary = {
      configs: Object.fromEntries(CONFIGS.map((c) => {
        const m = measured[c];
        return [c, {
          label: LABELS[c],
          p50us: median(m.latency.map((r) => r.p50us)),
          p99us: median(m.latency.map((r) => r.p99us)),
          rps: median(m.throughput.map((r) => r.rps)),
          loadedP50us: median(m.throughput.map((r) => r.p50us)),
          loadedP99us: median(m.throughput.map((r) => r.p99us)),
          envoyCpuUsPerRequest: median(m.throughput.map((r) => r.envoyCpuUsPerRequest)),
          envoyCpuShare: median(m.throughput.map((r) => r.envoyCpuShare)),
          loadCpuShare: median(m.throughput.map((r) => r.loadCpuShare)),
          requests: [...m.latency, ...m.throughput].reduce((a, r) => a + r.requests, 0),
        }];
      })) as Summary["configs"],
      rounds: ROUNDS,
      connections: CONNECTIONS,
      workers: WORKERS,
      envoyCpus,
      loadCpus,
      pinned: pin,
      upstream: UPSTREAM,
      loadAverage: [loadBefore, loadAfter],
      wasmBytes,
      sha256: { tokenBytes: Buffer.byteLength(hitToken), us: sha256Us },
      // Round by round, each configuration next to the others: how much the ratios move with the machine.
      roundRatios: measured.altgate_hit.throughput.map((hit, i) => ({
        ofNoFilter: hit.rps / measured.nofilter.throughput[i]!.rps,
        ofJwtAuthn: hit.rps / measured.jwt_authn.throughput[i]!.rps,
        hostCallsOfNoFilter: measured.wasm_host_calls.throughput[i]!.rps / measured.nofilter.throughput[i]!.rps,
        ofHostCalls: hit.rps / measured.wasm_host_calls.throughput[i]!.rps,
      })),
      memory: {
        tokens: fill.requests,
        evictions: fillDelta("cache_evictions"),
        introspections: fillDelta("introspection_calls"),
        allocatedDelta: memAfter.allocated - memBefore.allocated,
        rssDelta: memAfter.rss - memBefore.rss,
        allocatedAfter: memAfter.allocated,
        rssAfter: memAfter.rss,
        host,
      },
      counters,
      jwtAuthn: {
        allowed: (after.get("http.jwt_authn.jwt_authn.allowed") ?? 0) - (before.get("http.jwt_authn.jwt_authn.allowed") ?? 0),
        jwksFetches: after.get("http.jwt_authn.jwt_authn.jwks_fetch_success") ?? 0,
      },
      missTokensUsed: missTokens.used(),
      profile,
      seconds: (Date.now() - started) / 1000,
    };
    writeFileSync(join(runDir, "results.json"), JSON.stringify({ summary, measured }, null, 2));
    process.stdout.write(formatReport(summary));
    process.stdout.write(`\nresults: ${join(runDir, "results.json")}\n`);
    if (problems.length > 0) {
      process.stdout.write(`\nMEASUREMENT INVALID (${non2xx} non-2xx or failed responses):\n  ${problems.join("\n  ")}\nEnvoy log: ${envoyLog}\n`);
      return 1;
    }
    return 0;
  } finally {
    await stopAll();
    log("bench", `stopped everything; total ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`\nbench:filter failed: ${err.message}\n`);
    process.exit(1);
  },
);
