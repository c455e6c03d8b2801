/**
 * The server process: configuration and model registry validated at start (exit status 2 with a
 * message naming the variable, file or field); then the database (DATABASE_URL, or PostgreSQL of
 * its own kept in ALTGATE_DATA_DIR), its migrations, the revocation feed's first load, and the
 * HTTP server. A start that fails after that exits with status 1 and says why. SIGTERM/SIGINT stop
 * it gracefully: requests in flight finish, pending last-used times are written, and the
 * embedded PostgreSQL shuts down.
 */
import { serve } from "@hono/node-server";
import type { Server } from "node:http";
import { join, resolve } from "node:path";
import type { Hono } from "hono";
import { createApp } from "./app.ts";
import { ConfigError, ENV_DOC, loadConfig, type Config } from "./config.ts";
import { startEmbeddedPostgres } from "./db/embedded.ts";
import { createDatabase, migrate } from "./db/index.ts";
import { createLogger } from "./logging.ts";
import { createMetrics } from "./metrics.ts";
import { Upstreams } from "./model-client.ts";
import { connectModels } from "./models.ts";
import { createPortalRoutes } from "./portal.ts";
import { loadRegistry, RegistryError, type ModelConfig } from "./registry.ts";
import { RevocationFeed } from "./tokens/feed.ts";
import { TokenService } from "./tokens/service.ts";

function die(message: string, status = 2): never {
  process.stderr.write(`altgate-server: ${message}\n`);
  process.exit(status);
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

let portal: Hono | undefined;
if (cfg.portal) {
  try {
    portal = createPortalRoutes({ keycloakIssuer: cfg.portal.issuer, clientId: cfg.portal.clientId });
  } catch (err) {
    die(`invalid portal configuration (ALTGATE_PORTAL_ISSUER, ALTGATE_PORTAL_CLIENT_ID): ${(err as Error).message}`);
  }
}

const logger = createLogger({ level: cfg.logLevel });
const metrics = createMetrics({ defaultMetrics: true });
const upstreams = new Upstreams();
const models = connectModels(modelConfigs, cfg, upstreams, metrics);

// What has been started, in order; stopped in reverse, so that the token service writes its
// pending last-used times before the pool closes, and the pool closes before PostgreSQL stops.
const started: { name: string; stop(): Promise<void> }[] = [{ name: "model connections", stop: () => upstreams.close() }];
let server: Server | undefined;
let stopping = false;
/** Unblocks the one start step that can wait indefinitely: the feed's first load retries until the database answers. */
let interruptStart: (() => void) | undefined;

class Stopped extends Error {}
const checkpoint = () => {
  if (stopping) throw new Stopped();
};

async function stopAll(): Promise<void> {
  for (const { name, stop } of started.splice(0).reverse()) {
    await stop().catch((err: Error) => logger.warn({ component: name, err: err.message }, "stop failed"));
  }
}

function exit(status: number): void {
  logger.flush(() => process.exit(status));
}

function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping");
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  // Before the server listens, the start sequence notices `stopping` at its next step and stops what it started.
  if (!server) {
    interruptStart?.();
    return;
  }
  server.close(() => void stopAll().finally(() => exit(0)));
  // Idle keep-alive connections would hold close() open until they time out.
  server.closeIdleConnections();
}
process.once("SIGTERM", () => shutdown("SIGTERM"));
process.once("SIGINT", () => shutdown("SIGINT"));

try {
  let databaseUrl = cfg.databaseUrl;
  if (!databaseUrl) {
    const dataDir = join(resolve(cfg.dataDir), "postgres");
    logger.info({ data_dir: dataDir }, "DATABASE_URL is not set: starting the embedded PostgreSQL");
    const embedded = await startEmbeddedPostgres({ dataDir });
    started.push({ name: "embedded PostgreSQL", stop: () => embedded.stop() });
    databaseUrl = embedded.url;
    logger.info({ port: Number(new URL(databaseUrl).port), log: `${dataDir}.log` }, "embedded PostgreSQL ready");
  }
  checkpoint();

  const database = createDatabase(databaseUrl);
  started.push({ name: "database pool", stop: () => database.close() });
  await migrate(database);
  checkpoint();

  const feed = new RevocationFeed({ connectionString: databaseUrl });
  started.push({ name: "revocation feed", stop: () => feed.stop() });
  feed.on("disconnected", (reason) => logger.warn({ reason }, "revocation feed lost the database; serving from memory"));
  feed.on("connected", () => logger.info(feed.status(), "revocation feed connected"));
  interruptStart = () => void feed.stop();
  await feed.start();
  checkpoint();

  const service = new TokenService(database, cfg.tokens.service);
  started.push({ name: "token service", stop: () => service.close() });

  const app = createApp({
    async checkDatabase() {
      await database.pool.query("select 1");
    },
    models,
    tokens: { service, feed, introspectionClient: cfg.tokens.introspectionClient, keycloak: cfg.tokens.keycloak },
    portal,
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
  if (!cfg.tokens.keycloak) logger.warn("KEYCLOAK_REVOCATION_ENDPOINT is not set: POST /v1/revoke revokes Keycloak tokens at the gateway only");
  if (!portal) logger.info("ALTGATE_PORTAL_ISSUER is not set: the portal is not served");
  for (const m of models) {
    const o = m.client.opts;
    logger.info(
      { model: m.manifest.name, version: m.manifest.version, endpoint: m.endpoint, upstream_name: o.upstreamName, timeout_ms: o.timeoutMs, max_concurrency: o.maxConcurrency, max_queue: o.maxQueue },
      "model",
    );
  }

  server = serve({ fetch: app.fetch, port: cfg.port, hostname: cfg.host }, (info) => {
    logger.info({ address: info.address, port: info.port, models: models.length, database: cfg.databaseUrl ? "DATABASE_URL" : "embedded" }, "listening");
  }) as Server;
  server.once("error", (err) => {
    logger.error({ err: err.message }, "could not listen");
    void stopAll().finally(() => logger.flush(() => die(`could not listen on ${cfg.host}:${cfg.port}: ${err.message}`, 1)));
  });
  // Longer than any idle timeout Envoy should use for this upstream, so that Envoy, not Node,
  // closes idle keep-alive connections (otherwise a request can race a close and fail).
  server.keepAliveTimeout = 75_000;
} catch (err) {
  await stopAll();
  if (stopping) exit(0);
  else {
    const why = err instanceof Error ? err.message : String(err);
    logger.error({ err: why }, "could not start");
    logger.flush(() => die(`could not start: ${why}`, 1));
  }
}
