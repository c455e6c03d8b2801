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
import { devFilterConfig } from "../../envoy/filter-config.ts";

export interface StackOptions {
  /** Where configs, logs and (unless persistent) the database live. Default: a fresh folder. */
  runDir?: string;
  /** Keep the database between runs (the start command); tests use a fresh one. */
  persistentDatabase?: boolean;
  /** Adjusts the development filter configuration, e.g. a short cache TTL for expiry tests. */
  filterConfig?: (defaults: Record<string, unknown>) => object;
}

export interface Stack {
  runDir: string;
  tools: { envoy: string; keycloak: string };
  envoy: Envoy;
  keycloak: Keycloak;
  server: Server;
  postgres: Postgres;
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

  const parts: { postgres?: Postgres; keycloak?: Keycloak; server?: Server; envoy?: Envoy } = {};
  const stopAll = async () => {
    for (const p of [parts.envoy, parts.server, parts.keycloak, parts.postgres]) await p?.stop().catch(() => undefined);
    // Whatever a failed start left behind (a component that never became ready) goes too.
    for (const m of registered()) await stopProcess(m).catch(() => undefined);
    if (!opts.persistentDatabase) rmSync(dbDir, { recursive: true, force: true });
  };

  try {
    log("stack", `starting in ${runDir}`);
    const keycloakStarting = startKeycloak(tools.keycloak, runDir).then((k) => (parts.keycloak = k));
    const serverStarting = startPostgres(dbDir, logDir)
      .then((pg) => (parts.postgres = pg))
      .then((pg) => startServer(runDir, { DATABASE_URL: pg.url }))
      .then((s) => (parts.server = s));
    const [keycloak, server] = await Promise.all([keycloakStarting, serverStarting]);
    const envoy = await startEnvoy(tools.envoy, runDir, {
      serverPort: server.port,
      keycloakPort: keycloak.port,
      wasmPath,
      filterConfig: (opts.filterConfig ?? ((d) => d))(
        devFilterConfig({ keycloakAuthority: `127.0.0.1:${keycloak.port}`, realm: REALM, issuer: keycloak.issuer }),
      ),
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
      databaseUrl: postgres.url,
      harnessPid: process.pid,
      pids: Object.fromEntries(registered().map((m) => [m.name, m.pid])),
      ports: {
        envoy: envoy.port,
        envoyAdmin: envoy.adminPort,
        keycloak: keycloak.port,
        keycloakManagement: keycloak.managementPort,
        server: server.port,
        ...(postgres.process ? { postgres: Number(new URL(postgres.url).port) } : {}),
      },
      logs: logDir,
    };
    return { runDir, tools, envoy, keycloak, server, postgres, info, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
