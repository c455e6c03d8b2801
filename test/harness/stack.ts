import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runRoot, log } from "./paths.ts";
import { useRegistry, registered, stopProcess } from "./processes.ts";
import { ensureTools } from "./tools.ts";
import { buildFilter } from "./build-filter.ts";
import { startPostgres, type Postgres } from "./components/postgres.ts";
import { startKeycloak, REALM, type Keycloak } from "./components/keycloak.ts";
import { startServer, type Server } from "./components/server.ts";
import { startEnvoy, type Envoy } from "./components/envoy.ts";
import { startRuntime, modelDir, ONNX_MODELS, type Runtime } from "./components/models.ts";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { devFilterConfig } from "../../envoy/filter-config.ts";

export interface StackOptions {
  /** Where configs, logs and (unless persistent) the database live. Default: a fresh folder. */
  runDir?: string;
  /** Keep the database between runs (the start command); tests use a fresh one. */
  persistentDatabase?: boolean;
  /** Adjusts the development filter configuration, e.g. a short cache TTL for expiry tests. */
  filterConfig?: (defaults: Record<string, unknown>) => object;
  /** More model registry entries beside the ONNX runtime's models, e.g. MLServer or fault injectors. */
  extraModels?: RegistryEntry[];
  /** More environment for the server, e.g. a shorter model-call timeout. */
  serverEnv?: Record<string, string>;
}

/** One entry of the server's model registry (server/src/registry.ts). */
export interface RegistryEntry {
  manifest: string;
  endpoint: string;
  timeout_ms?: number;
  upstream_name?: string;
}

export interface Stack {
  runDir: string;
  tools: { envoy: string; keycloak: string };
  envoy: Envoy;
  keycloak: Keycloak;
  server: Server;
  postgres: Postgres;
  models: Runtime;
  /** The server's environment, to start more replicas of it. */
  serverEnv: Record<string, string>;
  /** Everything a test or a user needs to reach the stack, as plain data. */
  info: StackInfo;
  stop(): Promise<void>;
}

export interface StackInfo {
  runDir: string;
  entryUrl: string;
  envoyAdminUrl: string;
  keycloakUrl: string;
  issuer: string;
  tokenEndpoint: string;
  serverUrl: string;
  modelRuntimeUrl: string;
  databaseUrl: string;
  /** The process that started the stack and whose exit the reaper watches. */
  harnessPid: number;
  pids: Record<string, number>;
  ports: Record<string, number>;
  logs: string;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const started = Date.now();
  const runDir = opts.runDir ?? join(runRoot, `run-${process.pid}-${Date.now()}`);
  mkdirSync(runDir, { recursive: true });
  useRegistry(join(runDir, "processes.json"));
  const tools = await ensureTools();
  const wasmPath = await buildFilter();
  const logDir = join(runDir, "logs");
  const dbDir = opts.persistentDatabase ? join(runDir, "postgres") : join("/tmp", `altgate-pg-${process.pid}-${Date.now()}`);

  const parts: { postgres?: Postgres; keycloak?: Keycloak; server?: Server; envoy?: Envoy; models?: Runtime } = {};
  const stopAll = async () => {
    for (const p of [parts.envoy, parts.server, parts.models, parts.keycloak, parts.postgres]) await p?.stop().catch(() => undefined);
    // Whatever a failed start left behind (a component that never became ready) goes too.
    for (const m of registered()) await stopProcess(m).catch(() => undefined);
    if (!opts.persistentDatabase) rmSync(dbDir, { recursive: true, force: true });
  };

  try {
    log("stack", `starting in ${runDir}`);
    // A fresh signing key per run: the filter signs the identity headers, the server verifies them.
    const identityKey = randomBytes(32).toString("hex");
    let serverEnv: Record<string, string> = {};
    const keycloakStarting = startKeycloak(tools.keycloak, runDir).then((k) => (parts.keycloak = k));
    const modelsStarting = startRuntime(ONNX_MODELS, { runDir }).then((m) => (parts.models = m));
    const serverStarting = Promise.all([startPostgres(dbDir, logDir), modelsStarting, keycloakStarting.then((k) => k.issuer)])
      .then(([pg, models, issuer]) => {
        parts.postgres = pg;
        const registry = join(runDir, "models.json");
        writeFileSync(
          registry,
          JSON.stringify(
            [
              ...ONNX_MODELS.map((name): RegistryEntry => ({ manifest: join(modelDir(name), "manifest.json"), endpoint: models.url })),
              ...(opts.extraModels ?? []),
            ],
            null,
            2,
          ),
        );
        serverEnv = {
          DATABASE_URL: pg.url,
          ALTGATE_MODELS: registry,
          ALTGATE_IDENTITY_HMAC_KEY: identityKey,
          ALTGATE_INTROSPECTION_CLIENT_ID: "altgate-gateway",
          ALTGATE_INTROSPECTION_CLIENT_SECRET: "introspection-dev-secret",
          KEYCLOAK_REVOCATION_ENDPOINT: `${issuer}/protocol/openid-connect/revoke`,
          ALTGATE_PORTAL_ISSUER: issuer,
          ...opts.serverEnv,
        };
        return startServer(runDir, serverEnv);
      })
      .then((s) => (parts.server = s));
    const [keycloak, server] = await Promise.all([keycloakStarting, serverStarting]);
    const filterConfig = devFilterConfig({ keycloakAuthority: `127.0.0.1:${keycloak.port}`, realm: REALM, issuer: keycloak.issuer });
    (filterConfig.identity as Record<string, unknown>).hmac_key = identityKey;
    const envoy = await startEnvoy(tools.envoy, runDir, {
      serverPort: server.port,
      keycloakPort: keycloak.port,
      wasmPath,
      filterConfig: (opts.filterConfig ?? ((d) => d))(filterConfig),
    });
    parts.envoy = envoy;
    const postgres = parts.postgres!;
    log("stack", `ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const info: StackInfo = {
      runDir,
      entryUrl: envoy.url,
      envoyAdminUrl: envoy.adminUrl,
      keycloakUrl: keycloak.url,
      issuer: keycloak.issuer,
      tokenEndpoint: keycloak.tokenEndpoint,
      serverUrl: server.url,
      modelRuntimeUrl: parts.models!.url,
      databaseUrl: postgres.url,
      harnessPid: process.pid,
      pids: Object.fromEntries(registered().map((m) => [m.name, m.pid])),
      ports: {
        envoy: envoy.port,
        envoyAdmin: envoy.adminPort,
        keycloak: keycloak.port,
        keycloakManagement: keycloak.managementPort,
        server: server.port,
        modelRuntime: parts.models!.port,
        ...(postgres.process ? { postgres: Number(new URL(postgres.url).port) } : {}),
      },
      logs: logDir,
    };
    return { runDir, tools, envoy, keycloak, server, postgres, models: parts.models!, serverEnv, info, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
