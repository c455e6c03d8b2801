import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { isAlive, register, sleep, useRegistry } from "../../../test/harness/processes.ts";
import { createDatabase, migrate } from "../../src/db/index.ts";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../src/db/embedded.ts";

const root = mkdtempSync(join(tmpdir(), "altgate-embedded-"));
chmodSync(root, 0o755);
const dataDir = join(root, "data", "postgres");
useRegistry(join(root, "processes.json"));
let running: EmbeddedPostgres | undefined;

afterAll(async () => {
  await running?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function query(url: string, text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

describe("embedded PostgreSQL for a server without DATABASE_URL", () => {
  it("initialises a persistent data directory once and keeps the data across restarts", async () => {
    running = await startEmbeddedPostgres({ dataDir });
    const database = createDatabase(running.url);
    await migrate(database);
    await database.pool.query("insert into revocations (key, kind, exp, revoked_at) values ('persisted-jti', 'oidc', 4102444800, now())");
    await database.close();
    await running.stop();
    running = await startEmbeddedPostgres({ dataDir });
    expect(await query(running.url, "select key from revocations")).toEqual([{ key: "persisted-jti" }]);
    await running.stop();
    running = undefined;
  }, 60_000);

  it("takes over from the PostgreSQL a SIGKILLed server left behind, with nothing lost", async () => {
    const script = `
      import { startEmbeddedPostgres } from ${JSON.stringify(new URL("../../src/db/embedded.ts", import.meta.url).pathname)};
      const pg = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} });
      process.stdout.write(pg.url + "\\n");
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()));
      child.once("exit", (code) => reject(new Error(`child exited with ${code}`)));
    });
    const leftover = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    // Should this test fail half-way, the harness's reaper still stops the orphan.
    register({ name: "leftover-postgres", pid: leftover, group: false, stopSignal: "SIGINT", logFile: `${dataDir}.log` });
    await query(url, "insert into revocations (key, kind, exp, revoked_at) values ('before-sigkill', 'oidc', 4102444800, now())");
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(isAlive(leftover)).toBe(true);

    running = await startEmbeddedPostgres({ dataDir });
    while (isAlive(leftover)) await sleep(20);
    expect(await query(running.url, "select key from revocations order by seq")).toEqual([{ key: "persisted-jti" }, { key: "before-sigkill" }]);
  }, 60_000);
});
