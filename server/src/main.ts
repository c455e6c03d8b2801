/**
 * The server process: configuration and model registry validated at start (exit status 2 with a
 * message naming the variable, file or field), then the HTTP server. SIGTERM/SIGINT stop it
 * gracefully.
 */
import { serve } from "@hono/node-server";
import type { Server } from "node:http";
import pg from "pg";
import { createApp } from "./app.ts";
import { ConfigError, ENV_DOC, loadConfig, type Config } from "./config.ts";
import { createLogger } from "./logging.ts";
import { createMetrics } from "./metrics.ts";
import { Upstreams } from "./model-client.ts";
import { connectModels } from "./models.ts";
import { loadRegistry, RegistryError, type ModelConfig } from "./registry.ts";

function die(message: string): never {
  process.stderr.write(`altgate-server: ${message}\n`);
  process.exit(2);
}

let cfg: Config;
try {
  cfg = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  const help = Object.entries(ENV_DOC)
    .map(([k, v]) => `  ${k}: ${v}`)
    .join("\n");
  die(`invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join("\n")}\nenvironment variables:\n${help}`);
}

let modelConfigs: ModelConfig[] = [];
if (cfg.modelsFile) {
  try {
    modelConfigs = await loadRegistry(cfg.modelsFile);
  } catch (err) {
    if (err instanceof RegistryError) die(`invalid model registry (ALTGATE_MODELS): ${err.message}`);
    throw err;
  }
}

const logger = createLogger({ level: cfg.logLevel });
const metrics = createMetrics({ defaultMetrics: true });
const upstreams = new Upstreams();
const models = connectModels(modelConfigs, cfg, upstreams, metrics);

const pool = new pg.Pool({ connectionString: cfg.databaseUrl, max: 4, connectionTimeoutMillis: 2000 });
pool.on("error", () => undefined);

const app = createApp({
  async checkDatabase() {
    await pool.query("select 1");
  },
  models,
  probe: (endpoint, timeoutMs) => upstreams.probe(endpoint, timeoutMs),
  hmacKey: cfg.hmacKey,
  maxSkewSeconds: cfg.maxSkewSeconds,
  maxBodyBytes: cfg.maxBodyBytes,
  readyModels: cfg.readyModels,
  readyTimeoutMs: cfg.readyTimeoutMs,
  logger,
  metrics,
});

if (!cfg.modelsFile) logger.warn("ALTGATE_MODELS is not set: no models are served");
if (!cfg.hmacKey) logger.warn("ALTGATE_IDENTITY_HMAC_KEY is not set: identity headers are trusted without a signature");
for (const m of models) {
  const o = m.client.opts;
  logger.info(
    { model: m.manifest.name, version: m.manifest.version, endpoint: m.endpoint, upstream_name: o.upstreamName, timeout_ms: o.timeoutMs, max_concurrency: o.maxConcurrency, max_queue: o.maxQueue },
    "model",
  );
}

const server = serve({ fetch: app.fetch, port: cfg.port, hostname: cfg.host }, (info) => {
  logger.info({ address: info.address, port: info.port, models: models.length }, "listening");
});
// Longer than any idle timeout Envoy should use for this upstream, so that Envoy, not Node,
// closes idle keep-alive connections (otherwise a request can race a close and fail).
(server as Server).keepAliveTimeout = 75_000;

let stopping = false;
function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping");
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  server.close(() => {
    Promise.allSettled([pool.end(), upstreams.close()]).finally(() => {
      logger.flush();
      process.exit(0);
    });
  });
  // Idle keep-alive connections would hold close() open until they time out.
  (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
}
process.once("SIGTERM", () => shutdown("SIGTERM"));
process.once("SIGINT", () => shutdown("SIGINT"));
