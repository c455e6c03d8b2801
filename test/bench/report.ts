/** The benchmark's printed report: a Markdown table (readable in a terminal, pasteable into README). */
import { CONFIGS, type ConfigName } from "./envoy-config.ts";
import type { HostMemory } from "./host-memory.ts";
import { ENVOY_VERSION, KEYCLOAK_VERSION } from "../harness/versions.ts";
import { PROFILE_CLASSES, PROFILE_LABELS, type ProfileClass } from "./cpu-profile.ts";

export interface ConfigSummary {
  label: string;
  /** Median over rounds of the one-connection runs' percentiles (no queueing: the request's own latency). */
  p50us: number;
  p99us: number;
  /** Median over rounds of the saturating runs' throughput. */
  rps: number;
  loadedP50us: number;
  loadedP99us: number;
  /** Median over the saturating runs: Envoy's CPU time per request, and the cores Envoy and the load generator used. */
  envoyCpuUsPerRequest: number;
  envoyCpuShare: number;
  loadCpuShare: number;
  requests: number;
}

export interface Summary {
  configs: Record<ConfigName, ConfigSummary>;
  rounds: number;
  connections: number;
  workers: number;
  envoyCpus: string;
  loadCpus: string;
  pinned: boolean;
  upstream: "envoy" | "node";
  /** 1-minute load average when the measurements started and ended. */
  loadAverage: [number, number];
  wasmBytes: number;
  /** SHA-256 of the hit token alone, timed in the bench's own V8 with the filter's SHA-256. */
  sha256: { tokenBytes: number; us: number };
  /**
   * Per round: cache-hit req/s over no filter's, jwt_authn's and the host-call floor's in the same
   * round, and the host-call floor's over no filter's.
   */
  roundRatios: { ofNoFilter: number; ofJwtAuthn: number; ofHostCalls: number; hostCallsOfNoFilter: number }[];
  memory: {
    tokens: number;
    evictions: number;
    introspections: number;
    allocatedDelta: number;
    rssDelta: number;
    allocatedAfter: number;
    rssAfter: number;
    host: HostMemory | undefined;
  };
  counters: Record<string, number>;
  jwtAuthn: { allowed: number; jwksFetches: number };
  missTokensUsed: number;
  /** BENCH_PROFILE=1: per configuration, Envoy's time per request under perf and each class's share of the samples. */
  profile?: { config: ConfigName; usPerRequest: number; samples: number; shares: Record<ProfileClass, number> }[];
  seconds: number;
}

export interface Target {
  name: string;
  pass: boolean;
  detail: string;
}

export function targets(s: Summary): Target[] {
  const { nofilter, jwt_authn: jwt, altgate_hit: hit } = s.configs;
  const share = hit.rps / nofilter.rps;
  const overhead = hit.p50us - nofilter.p50us;
  return [
    { name: "cache-hit throughput ≥ 85% of no filter", pass: share >= 0.85, detail: `${(share * 100).toFixed(1)}%` },
    { name: "cache-hit throughput ≥ jwt_authn", pass: hit.rps >= jwt.rps, detail: `${fmt(hit.rps)} vs ${fmt(jwt.rps)} req/s (${((hit.rps / jwt.rps) * 100).toFixed(1)}%)` },
    { name: "cache-hit p50 overhead ≤ 50 µs over no filter", pass: overhead <= 50, detail: `${signed(overhead)} µs` },
  ];
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const signed = (n: number) => `${n >= 0 ? "+" : "−"}${Math.abs(Math.round(n))}`;
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(2)} MiB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

export function table(s: Summary): string {
  const base = s.configs.nofilter;
  const jwt = s.configs.jwt_authn;
  const rows = [
    `| configuration | p50 | p99 | req/s | req/s ÷ no filter | req/s ÷ jwt_authn | p50 − no filter | p50 − jwt_authn | Envoy CPU per request | p50 / p99 under load |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
  ];
  for (const c of CONFIGS) {
    const r = s.configs[c];
    rows.push(
      `| ${r.label} | ${fmt(r.p50us)} µs | ${fmt(r.p99us)} µs | ${fmt(r.rps)} | ${(r.rps / base.rps).toFixed(2)}× | ${(r.rps / jwt.rps).toFixed(2)}× | ` +
        `${signed(r.p50us - base.p50us)} µs | ${signed(r.p50us - jwt.p50us)} µs | ${r.envoyCpuUsPerRequest.toFixed(1)} µs | ${fmt(r.loadedP50us)} / ${fmt(r.loadedP99us)} µs |`,
    );
  }
  return rows.join("\n");
}

export function formatReport(s: Summary): string {
  const m = s.memory;
  const held = m.tokens - m.evictions;
  const out: string[] = [];
  out.push("");
  out.push(`## altgate filter benchmark — Envoy ${ENVOY_VERSION}, Keycloak ${KEYCLOAK_VERSION}, ${s.rounds} rounds (medians)`);
  out.push("");
  out.push(table(s));
  out.push("");
  out.push(
    `p50/p99: one connection, one request at a time (the request's own latency, no queueing). req/s and "under load": ` +
      `${s.connections} keep-alive connections saturating Envoy. Envoy: ${s.workers} worker${s.workers > 1 ? "s" : ""} on CPU ${s.envoyCpus}; ` +
      `load generator (autocannon) on CPU ${s.loadCpus}${s.pinned ? "" : " (not pinned)"}; upstream: ${s.upstream === "envoy" ? "a direct_response listener of the same Envoy" : "a Node http server"}. ` +
      `Envoy CPU per request: all Envoy threads' CPU time during the saturating runs ÷ requests (includes the upstream listener's share when it is in the same Envoy).`,
  );
  out.push(
    `machine load average (1 min) ${s.loadAverage[0].toFixed(2)} at the start of the measurements, ${s.loadAverage[1].toFixed(2)} at the end; ` +
      `cores busy during the saturating runs (Envoy / load generator): ` +
      CONFIGS.map((c) => `${c} ${s.configs[c].envoyCpuShare.toFixed(2)} / ${s.configs[c].loadCpuShare.toFixed(2)}`).join(", "),
  );
  out.push("");
  out.push(`altgate .wasm: ${fmt(s.wasmBytes)} bytes (${kib(s.wasmBytes)})`);
  out.push(
    `SHA-256 of the ${fmt(s.sha256.tokenBytes)}-byte Keycloak token (the shared cache's key, computed on a worker's first request with a token; its repeats are recognised by the memo's SipHash tag) with the filter's own code in Node's V8: ${s.sha256.us.toFixed(1)} µs`,
  );
  out.push(
    `cache of ${fmt(m.tokens)} distinct tokens (${fmt(held)} held, ${fmt(m.evictions)} evicted by the 4-way buckets): ` +
      `Envoy allocated ${m.allocatedDelta >= 0 ? "+" : "−"}${mib(Math.abs(m.allocatedDelta))} ` +
      `(${fmt(m.allocatedDelta / Math.max(1, held))} bytes per cached token), RSS ${m.rssDelta >= 0 ? "+" : "−"}${mib(Math.abs(m.rssDelta))}; ` +
      `whole Envoy afterwards ${mib(m.allocatedAfter)} allocated, ${mib(m.rssAfter)} RSS`,
  );
  if (m.host) {
    const h = m.host;
    out.push(
      `test host, same .wasm and fill: shared data ${mib(h.sharedBytes)} in ${fmt(h.sharedKeys)} keys, of which cached entries ` +
        `${mib(h.cacheEntryBytes)} for ${fmt(h.heldEntries)} held entries (${fmt(h.cacheEntryBytes / Math.max(1, h.heldEntries))} bytes each); the VM's linear memory ` +
        `${kib(h.linearMemoryStartBytes)} before, ${kib(h.linearMemoryEndBytes)} after (per worker)`,
    );
  }
  const c = s.counters;
  out.push(
    `checks: hit runs ${fmt(c["altgate_hit.cache_hits"] ?? 0)} hits / ${fmt(c["altgate_hit.cache_misses"] ?? 0)} misses; ` +
      `miss runs ${fmt(c["altgate_miss.cache_misses"] ?? 0)} misses / ${fmt(c["altgate_miss.introspection_calls"] ?? 0)} introspections / ${fmt(c["altgate_miss.cache_hits"] ?? 0)} hits ` +
      `(${fmt(s.missTokensUsed)} fresh tokens); jwt_authn allowed ${fmt(s.jwtAuthn.allowed)}, JWKS fetched ${fmt(s.jwtAuthn.jwksFetches)}×`,
  );
  out.push("");
  out.push("targets:");
  for (const t of targets(s)) out.push(`  ${t.pass ? "PASS" : "MISS"}  ${t.name}: ${t.detail}`);
  const range = (values: number[]) => `${(Math.min(...values) * 100).toFixed(0)}–${(Math.max(...values) * 100).toFixed(0)}%`;
  out.push(
    `  (round by round, cache-hit req/s was ${range(s.roundRatios.map((r) => r.ofNoFilter))} of no filter's and ` +
      `${range(s.roundRatios.map((r) => r.ofJwtAuthn))} of jwt_authn's in the same round)`,
  );
  const { nofilter, nofilter_no_token: bare, wasm_floor: floor, wasm_host_calls: calls, jwt_authn: jwt, altgate_hit: hit } = s.configs;
  out.push(
    `  (what is left for altgate's own code: the host calls of a cache hit alone, with no logic, reach ${((calls.rps / nofilter.rps) * 100).toFixed(1)}% of no filter's req/s ` +
      `(${range(s.roundRatios.map((r) => r.hostCallsOfNoFilter))} round by round) and cost ${signed(calls.envoyCpuUsPerRequest - nofilter.envoyCpuUsPerRequest)} µs of Envoy CPU per request over no filter; ` +
      `the cache hit reaches ${((hit.rps / calls.rps) * 100).toFixed(1)}% of their req/s (${range(s.roundRatios.map((r) => r.ofHostCalls))}) and costs ` +
      `${signed(hit.envoyCpuUsPerRequest - calls.envoyCpuUsPerRequest)} µs more)`,
  );
  out.push(
    `  (steadier view, Envoy CPU per request: the token's ${fmt(s.sha256.tokenBytes)} bytes in the request ${signed(nofilter.envoyCpuUsPerRequest - bare.envoyCpuUsPerRequest)} µs with no filter; ` +
      `an empty Wasm filter ${signed(floor.envoyCpuUsPerRequest - nofilter.envoyCpuUsPerRequest)} µs over no filter; ` +
      `cache hit ${signed(hit.envoyCpuUsPerRequest - nofilter.envoyCpuUsPerRequest)} µs over no filter, ` +
      `${signed(hit.envoyCpuUsPerRequest - jwt.envoyCpuUsPerRequest)} µs over jwt_authn; a CPU-bound Envoy would serve ` +
      `${((nofilter.envoyCpuUsPerRequest / hit.envoyCpuUsPerRequest) * 100).toFixed(0)}% of no filter's and ` +
      `${((jwt.envoyCpuUsPerRequest / hit.envoyCpuUsPerRequest) * 100).toFixed(0)}% of jwt_authn's requests per second with the filter on cache hits)`,
  );
  const unsaturated = (["nofilter", "jwt_authn", "altgate_hit"] as const).filter((c) => s.configs[c].envoyCpuShare < 0.9);
  if (unsaturated.length > 0) {
    out.push("");
    out.push(
      `WARNING: Envoy did not get a full core in the saturating runs of ${unsaturated.join(", ")} ` +
        `(${unsaturated.map((c) => s.configs[c].envoyCpuShare.toFixed(2)).join(", ")} cores): other work on the machine took it, so req/s and its ratios ` +
        `measure that contention as much as Envoy. Envoy CPU per request is the steadier figure; run again on a quieter machine for req/s.`,
    );
  }
  if (s.profile) {
    out.push("");
    out.push("where Envoy's CPU goes, µs per request (BENCH_PROFILE=1: perf cpu-clock samples at 4 kHz while the configuration saturates Envoy, 3 × 3 s each; perf's own cost included; the filter's own columns are the point, the totals move with the machine like every other figure):");
    out.push("");
    out.push(`| configuration | per request | ${PROFILE_CLASSES.map((k) => PROFILE_LABELS[k]).join(" | ")} |`);
    out.push(`| --- | ---: | ${PROFILE_CLASSES.map(() => "---:").join(" | ")} |`);
    for (const p of s.profile) {
      out.push(`| ${s.configs[p.config].label} | ${p.usPerRequest.toFixed(1)} µs | ${PROFILE_CLASSES.map((k) => `${(p.shares[k] * p.usPerRequest).toFixed(1)} µs`).join(" | ")} |`);
    }
  }
  out.push("");
  out.push(`bench took ${s.seconds.toFixed(0)} s`);
  return out.join("\n") + "\n";
}
