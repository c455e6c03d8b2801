/**
 * npm run bench:server — what the altgate server adds to a model call: predict latency (p50, p99)
 * and throughput through the server, side by side with the same inference sent straight to the
 * model container, in one run and with one load generator.
 *
 *   direct           POST <runtime>/v2/models/iris-classifier/infer          (the container alone)
 *   server_predict   POST <server>/v1/models/iris-classifier/predict         (plain JSON → OIP → back)
 *   server_infer     POST <server>/v2/models/iris-classifier/infer           (OIP, checked and passed through)
 *
 * Real components: the ONNX model runtime (models/runtime) serving models/iris-classifier, the
 * server process (server/src/main.ts) with that model in its registry, identity signatures
 * verified (ALTGATE_IDENTITY_HMAC_KEY set), JSON access logs on, and the harness's PostgreSQL for
 * its readiness check. No Envoy: the gateway's cost is bench:filter's subject. Everything on
 * 127.0.0.1. The load generator is autocannon, in this process, HTTP/1.1 keep-alive, one request
 * in flight per connection; every run stops at its request count or its time limit.
 *
 * Latency is measured with one connection (no queueing: the p50 difference is the server's own
 * cost per request); throughput with BENCH_CONNECTIONS connections. Target: server overhead at
 * p50 ≤ 1 ms. A benchmark, not a test: a missed target is reported, not failed. It fails only
 * when the measurement is wrong (a non-2xx answer, a component that does not start).
 *
 * Knobs (environment): BENCH_ROUNDS (3), BENCH_CONNECTIONS (8).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { repoRoot, runRoot, log } from "../harness/paths.ts";
import { freePort } from "../harness/ports.ts";
import { registered, spawnComponent, stopProcess, useRegistry } from "../harness/processes.ts";
import { httpOk, waitUntilReady } from "../harness/readiness.ts";
import { startPostgres } from "../harness/components/postgres.ts";
import { startServer } from "../harness/components/server.ts";
import { signIdentity } from "../../server/src/signature.ts";

const env = (name: string, fallback: number) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const ROUNDS = env("BENCH_ROUNDS", 3);
const CONNECTIONS = env("BENCH_CONNECTIONS", 8);
const MODEL = "iris-classifier";
const TARGET_OVERHEAD_MS = 1;

/** Per run: [max requests, max seconds]. */
const PLAN = { warmup: [3_000, 2], latency: [4_000, 3], throughput: [40_000, 4] } as const;

const RUNTIME_MAIN = join(repoRoot, "models/runtime/src/main.ts");
const MODEL_DIR = join(repoRoot, "models", MODEL);

type Target = "direct" | "server_predict" | "server_infer";
const TARGETS: Target[] = ["direct", "server_predict", "server_infer"];

interface LoadResult {
  requests: number;
  non2xx: number;
  seconds: number;
  rps: number;
  p50us: number;
  p99us: number;
}

interface Request {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** One autocannon run; every response's time recorded at full resolution (autocannon keeps whole ms). */
async function runLoad(req: Request, connections: number, [maxRequests, maxSeconds]: readonly [number, number]): Promise<LoadResult> {
  const latenciesMs = new Float64Array(maxRequests + 2 * connections + 16);
  let n = 0;
  const started = process.hrtime.bigint();
  let last = started;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: req.url,
        method: "POST",
        body: req.body,
        headers: { "content-type": "application/json", ...req.headers },
        connections,
        pipelining: 1,
        duration: maxSeconds,
        maxOverallRequests: maxRequests,
        timeout: 10,
        sampleInt: 100,
      } as autocannon.Options,
      (err, r) => (err ? reject(err as Error) : resolve(r)),
    );
    // The tracker emits (client, statusCode, bytes, responseTimeMs); the typings omit the client.
    (instance as unknown as NodeJS.EventEmitter).on("response", (_c: unknown, _s: number, _b: number, ms: number) => {
      if (n < latenciesMs.length) latenciesMs[n++] = ms;
      last = process.hrtime.bigint();
    });
    setTimeout(() => instance.stop(), (maxSeconds + 15) * 1000).unref();
  });
  const sorted = latenciesMs.subarray(0, n).sort();
  const pct = (p: number) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]! * 1000);
  const seconds = Number(last - started) / 1e9;
  return {
    requests: n,
    non2xx: result.non2xx + result.errors + result.timeouts,
    seconds,
    rps: seconds > 0 ? n / seconds : 0,
    p50us: pct(50),
    p99us: pct(99),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  if (!existsSync(RUNTIME_MAIN)) {
    throw new Error(`bench:server needs the model runtime at ${RUNTIME_MAIN}, which does not exist (it is built by the models/ work)`);
  }
  if (!existsSync(join(MODEL_DIR, "manifest.json"))) throw new Error(`bench:server needs ${MODEL_DIR}/manifest.json`);

  const runDir = join(runRoot, `bench-server-${process.pid}-${Date.now()}`);
  const logDir = join(runDir, "logs");
  mkdirSync(logDir, { recursive: true });
  useRegistry(join(runDir, "processes.json"));
  const dbDir = join("/tmp", `altgate-bench-pg-${process.pid}-${Date.now()}`);
  const teardown = async () => {
    for (const m of registered().reverse()) await stopProcess(m, 10_000).catch(() => undefined);
    rmSync(dbDir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void teardown().finally(() => process.exit(130)));

  try {
    // 1. The model container.
    const runtimePort = await freePort();
    const runtime = spawnComponent({
      name: "model-runtime",
      command: process.execPath,
      args: ["--import", "tsx", RUNTIME_MAIN, "--models", MODEL_DIR, "--port", String(runtimePort)],
      logFile: join(logDir, "model-runtime.log"),
    });
    const runtimeUrl = `http://127.0.0.1:${runtimePort}`;
    await waitUntilReady(runtime, () => httpOk(`${runtimeUrl}/v2/health/ready`), 60_000, "200 from /v2/health/ready");
    log("bench", `model runtime ready at ${runtimeUrl}`);

    // 2. PostgreSQL (the server's readiness check) and the server, with the model in its registry.
    const pg = await startPostgres(dbDir, logDir);
    const registryFile = join(runDir, "models.json");
    writeFileSync(registryFile, JSON.stringify([{ manifest: join(MODEL_DIR, "manifest.json"), endpoint: runtimeUrl, timeout_ms: 5000, max_concurrency: 64 }]));
    const hmacKey = "bench-identity-hmac-key-0123456789abcdef";
    const server = await startServer(runDir, {
      DATABASE_URL: pg.url,
      ALTGATE_MODELS: registryFile,
      ALTGATE_IDENTITY_HMAC_KEY: hmacKey,
      ALTGATE_IDENTITY_MAX_SKEW_S: "600",
      ALTGATE_INTROSPECTION_CLIENT_ID: "altgate-gateway",
      ALTGATE_INTROSPECTION_CLIENT_SECRET: "introspection-dev-secret",
    });
    log("bench", `server ready at ${server.url}`);

    // 3. The same inference three ways.
    const row = [5.9, 3.0, 5.1, 1.8];
    const oip = JSON.stringify({ inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: row }] });
    const identity: Record<string, string> = {
      "x-altgate-subject": "bench-user",
      "x-altgate-username": "bench",
      "x-altgate-client": "altgate-cli",
      "x-altgate-roles": "model:read,model:invoke",
      "x-altgate-token-kind": "oidc",
    };
    const signed = () => ({ ...identity, "x-altgate-signature": signIdentity((n) => identity[n], Buffer.from(hmacKey), Math.floor(Date.now() / 1000)) });
    const request = (t: Target): Request => {
      switch (t) {
        case "direct":
          return { url: `${runtimeUrl}/v2/models/${MODEL}/infer`, body: oip, headers: {} };
        case "server_predict":
          return { url: `${server.url}/v1/models/${MODEL}/predict`, body: JSON.stringify({ inputs: { features: [row] } }), headers: signed() };
        case "server_infer":
          return { url: `${server.url}/v2/models/${MODEL}/infer`, body: oip, headers: signed() };
      }
    };

    // Sanity: the server answers with what the container computes.
    const direct = (await (await fetch(request("direct").url, { method: "POST", body: oip, headers: { "content-type": "application/json" } })).json()) as {
      outputs: { name: string; data: unknown[] }[];
    };
    const viaRes = await fetch(request("server_predict").url, { method: "POST", body: request("server_predict").body, headers: { "content-type": "application/json", ...signed() } });
    if (viaRes.status !== 200) throw new Error(`server predict answered ${viaRes.status}: ${await viaRes.text()}`);
    const via = (await viaRes.json()) as { outputs: Record<string, unknown>; labels?: Record<string, unknown> };
    const directLabel = direct.outputs.find((o) => o.name === "label")?.data;
    if (JSON.stringify(via.outputs.label) !== JSON.stringify(directLabel)) {
      throw new Error(`server and container disagree: ${JSON.stringify(via.outputs.label)} vs ${JSON.stringify(directLabel)}`);
    }
    log("bench", `sanity: predict ${JSON.stringify(row)} → ${JSON.stringify(via.labels ?? via.outputs)}`);

    // 4. Warm up, then alternate targets round by round so that drift hits all of them alike.
    for (const t of TARGETS) await runLoad(request(t), CONNECTIONS, PLAN.warmup);
    const latency: Record<Target, LoadResult[]> = { direct: [], server_predict: [], server_infer: [] };
    const throughput: Record<Target, LoadResult[]> = { direct: [], server_predict: [], server_infer: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of TARGETS) {
        const l = await runLoad(request(t), 1, PLAN.latency);
        const h = await runLoad(request(t), CONNECTIONS, PLAN.throughput);
        for (const [what, r] of [["latency", l], ["throughput", h]] as const) {
          if (r.non2xx > 0 || r.requests === 0) throw new Error(`${t} ${what} run: ${r.non2xx} non-2xx answers or errors of ${r.requests}`);
        }
        latency[t].push(l);
        throughput[t].push(h);
        log("bench", `round ${round} ${t}: p50 ${(l.p50us / 1000).toFixed(3)} ms, p99 ${(l.p99us / 1000).toFixed(3)} ms (1 conn); ${h.rps.toFixed(0)} req/s (${CONNECTIONS} conns, p50 ${(h.p50us / 1000).toFixed(2)} ms)`);
      }
    }

    // 5. Report.
    const summary = Object.fromEntries(
      TARGETS.map((t) => [
        t,
        {
          p50_ms: median(latency[t].map((r) => r.p50us)) / 1000,
          p99_ms: median(latency[t].map((r) => r.p99us)) / 1000,
          rps: median(throughput[t].map((r) => r.rps)),
          loaded_p50_ms: median(throughput[t].map((r) => r.p50us)) / 1000,
          loaded_p99_ms: median(throughput[t].map((r) => r.p99us)) / 1000,
        },
      ]),
    ) as Record<Target, { p50_ms: number; p99_ms: number; rps: number; loaded_p50_ms: number; loaded_p99_ms: number }>;
    const d = summary.direct;
    const lines = [
      "",
      `altgate server overhead — model ${MODEL}, one row per request, ${ROUNDS} rounds (medians), ${availableParallelism()} CPUs`,
      `latency: 1 connection, ≤${PLAN.latency[0]} requests or ${PLAN.latency[1]} s per run; throughput: ${CONNECTIONS} connections, ≤${PLAN.throughput[0]} requests or ${PLAN.throughput[1]} s`,
      "",
      "target           p50 ms   p99 ms   overhead p50   ratio p50   req/s    ratio req/s   loaded p50/p99 ms",
    ];
    for (const t of TARGETS) {
      const s = summary[t];
      const over = t === "direct" ? "" : `+${(s.p50_ms - d.p50_ms).toFixed(3)} ms`;
      lines.push(
        `${t.padEnd(16)} ${s.p50_ms.toFixed(3).padStart(6)}   ${s.p99_ms.toFixed(3).padStart(6)}   ${over.padStart(12)}   ${(s.p50_ms / d.p50_ms).toFixed(2).padStart(8)}x   ${s.rps.toFixed(0).padStart(6)}   ${(s.rps / d.rps).toFixed(2).padStart(10)}x   ${s.loaded_p50_ms.toFixed(2)}/${s.loaded_p99_ms.toFixed(2)}`,
      );
    }
    const overhead = summary.server_predict.p50_ms - d.p50_ms;
    lines.push("", `server overhead at p50 (predict): ${overhead.toFixed(3)} ms — target ≤ ${TARGET_OVERHEAD_MS} ms: ${overhead <= TARGET_OVERHEAD_MS ? "met" : "MISSED"}`);
    process.stdout.write(`${lines.join("\n")}\n`);
    writeFileSync(join(runDir, "server-bench.json"), JSON.stringify({ rounds: ROUNDS, connections: CONNECTIONS, summary, latency, throughput }, null, 2));
    log("bench", `raw results in ${join(runDir, "server-bench.json")}; logs in ${logDir}`);
  } finally {
    await teardown();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench:server failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
