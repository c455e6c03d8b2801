/**
 * The server process as the harness and an operator start it (server/src/main.ts), without
 * DATABASE_URL: it runs its own PostgreSQL in ALTGATE_DATA_DIR. Ready after start; after a SIGKILL
 * (which leaves that PostgreSQL behind) it starts again on the same directory, with what was
 * revoked still revoked; a graceful stop leaves no PostgreSQL running.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../test/harness/paths.ts";
import { freePort } from "../../test/harness/ports.ts";
import { isAlive, register, sleep, spawnComponent, stopProcess, tail, unregister, useRegistry, type Managed } from "../../test/harness/processes.ts";
import { hashToken } from "../src/tokens/format.ts";

const root = mkdtempSync(join(tmpdir(), "altgate-main-"));
// As root, the embedded PostgreSQL runs as the postgres user, which must reach the data directory.
chmodSync(root, 0o755);
const dataDir = join(root, "data");
const pgDataDir = join(dataDir, "postgres");
useRegistry(join(root, "processes.json"));

const CLIENT = { id: "altgate-gateway", secret: "introspection-dev-secret" };
const ALICE = {
  "x-altgate-subject": "alice-sub",
  "x-altgate-username": "alice",
  "x-altgate-client": "altgate-cli",
  "x-altgate-roles": "model:read,token:manage",
  "x-altgate-scopes": "",
  "x-altgate-token-kind": "oidc",
  "x-altgate-token-id": "jti-1",
};
const MAIN = join(repoRoot, "server/src/main.ts");

function serverEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: "127.0.0.1",
    ALTGATE_DATA_DIR: dataDir,
    ALTGATE_INTROSPECTION_CLIENT_ID: CLIENT.id,
    ALTGATE_INTROSPECTION_CLIENT_SECRET: CLIENT.secret,
    ...extra,
  };
  delete env.DATABASE_URL;
  return env;
}

interface Running {
  url: string;
  proc: Managed;
  exited: Promise<number | null>;
}

let runs = 0;
async function startServer(): Promise<Running> {
  const port = await freePort();
  const proc = spawnComponent({
    name: "server",
    command: process.execPath,
    args: ["--import", "tsx", MAIN],
    env: serverEnv({ PORT: String(port) }),
    logFile: join(root, "logs", `server-${++runs}.log`),
  });
  const exited = new Promise<number | null>((r) => proc.child!.once("exit", (code) => r(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    if (gone || Date.now() > deadline) throw new Error(`the server did not become ready; its log:\n${tail(proc.logFile)}`);
    await sleep(100);
  }
  // Should a test fail half-way, the harness's reaper still stops the PostgreSQL it started.
  register({ name: "server-postgres", pid: postmasterPid()!, group: false, stopSignal: "SIGINT", logFile: `${pgDataDir}.log` });
  return { url, proc, exited };
}

function postmasterPid(): number | undefined {
  const file = join(pgDataDir, "postmaster.pid");
  return existsSync(file) ? Number(readFileSync(file, "utf8").split("\n")[0]) : undefined;
}

/** Every live process that runs PostgreSQL on this test's data directory. */
function postgresProcesses(): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8");
        return cmd.includes("postgres") && cmd.includes(pgDataDir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const basic = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString("base64")}`;
const introspect = (url: string, token: string) =>
  fetch(`${url}/internal/v1/introspect`, {
    method: "POST",
    headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }),
  }).then((r) => r.json() as Promise<{ active: boolean }>);
const feedKeys = (url: string) =>
  fetch(`${url}/internal/v1/revocations`).then(async (r) => ((await r.json()) as { revoked: { key: string }[] }).revoked.map((e) => e.key));

afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
});

describe("the server process without DATABASE_URL", () => {
  it("runs its own PostgreSQL, survives a SIGKILL with revocations intact, and stops leaving nothing behind", async () => {
    const first = await startServer();
    const created = await fetch(`${first.url}/v1/tokens`, {
      method: "POST",
      headers: { ...ALICE, "content-type": "application/json" },
      body: JSON.stringify({ name: "to revoke", roles: ["model:read"] }),
    });
    expect(created.status).toBe(201);
    const revoked = (await created.json()) as { id: string; token: string };
    const kept = (await (
      await fetch(`${first.url}/v1/tokens`, {
        method: "POST",
        headers: { ...ALICE, "content-type": "application/json" },
        body: JSON.stringify({ name: "to keep", roles: ["model:read"] }),
      })
    ).json()) as { token: string };
    expect((await fetch(`${first.url}/v1/tokens/${revoked.id}`, { method: "DELETE", headers: ALICE })).status).toBe(200);
    expect(await introspect(first.url, revoked.token)).toEqual({ active: false });

    const leftover = postmasterPid()!;
    process.kill(first.proc.pid, "SIGKILL");
    await first.exited;
    // SIGKILL gives the server no chance to stop its PostgreSQL: the next start must take over.
    expect(isAlive(leftover)).toBe(true);

    const second = await startServer();
    expect(isAlive(leftover)).toBe(false);
    unregister(leftover);
    expect(postmasterPid()).not.toBe(leftover);
    expect(await introspect(second.url, revoked.token)).toEqual({ active: false });
    expect(await introspect(second.url, kept.token)).toMatchObject({ active: true, sub: "alice-sub" });
    expect(await feedKeys(second.url)).toContain(hashToken(revoked.token));
    const list = (await (await fetch(`${second.url}/v1/tokens`, { headers: ALICE })).json()) as { tokens: { id: string; status: string }[] };
    expect(list.tokens.find((t) => t.id === revoked.id)?.status).toBe("revoked");

    const pg = postmasterPid()!;
    process.kill(second.proc.pid, "SIGTERM");
    expect(await second.exited).toBe(0);
    expect(isAlive(pg)).toBe(false);
    expect(existsSync(join(pgDataDir, "postmaster.pid"))).toBe(false);
    expect(postgresProcesses()).toEqual([]);
    unregister(pg);
    expect(readFileSync(second.proc.logFile, "utf8")).toContain('"msg":"stopping"');
    await stopProcess(second.proc, 1000);
  }, 120_000);
});

/** Runs main.ts to its exit; resolves with the status and what it wrote. */
function runToExit(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

describe("start failures", () => {
  it("exits with status 2 naming every missing or bad variable", async () => {
    const env = serverEnv({ PORT: "0", ALTGATE_TOKEN_MAX_ACTIVE: "many" });
    delete env.ALTGATE_INTROSPECTION_CLIENT_SECRET;
    const { code, output } = await runToExit(env);
    expect(code).toBe(2);
    expect(output).toContain("ALTGATE_INTROSPECTION_CLIENT_SECRET is required");
    expect(output).toContain('ALTGATE_TOKEN_MAX_ACTIVE must be an integer from 1 to 100000, got "many"');
  });

  it.runIf(process.getuid?.() === 0)("exits with status 1 when the postgres user cannot reach the data directory", async () => {
    const hidden = join(root, "hidden");
    mkdirSync(hidden, { mode: 0o700 });
    chmodSync(hidden, 0o700);
    const port = await freePort();
    const { code, output } = await runToExit(serverEnv({ PORT: String(port), ALTGATE_DATA_DIR: join(hidden, "data") }));
    expect(code).toBe(1);
    expect(output).toContain(`the postgres user cannot reach ${join(hidden, "data", "postgres")}: ${hidden} has mode 700`);
  });
});
