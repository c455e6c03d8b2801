import { describe, it, expect } from "vitest";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { repoRoot } from "../harness/paths.ts";
import { isListening } from "../harness/ports.ts";
import { isAlive, sleep } from "../harness/processes.ts";
import type { StackInfo } from "../harness/stack.ts";

interface Started {
  child: ChildProcess;
  runDir: string;
  stdout: () => string;
  stderr: () => string;
  info: StackInfo;
}

/** Runs the README's start command exactly as a user would, in a run folder of its own. */
async function startCommand(): Promise<Started> {
  const runDir = mkdtempSync(join(tmpdir(), "altgate-start-"));
  // The embedded PostgreSQL runs as the postgres user and must reach its data folder inside.
  chmodSync(runDir, 0o755);
  const child = spawn("npm", ["start"], {
    cwd: repoRoot,
    env: { ...process.env, ALTGATE_RUN_DIR: runDir },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so the test can deliver Ctrl-C the way a terminal does: to the group.
    detached: true,
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const deadline = Date.now() + 240_000;
  while (!out.includes("Press Ctrl-C")) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${err}`);
    if (Date.now() > deadline) throw new Error(`npm start did not finish starting:\n${err}`);
    await sleep(250);
  }
  const info = JSON.parse(readFileSync(join(runDir, "stack.json"), "utf8")) as StackInfo;
  return { child, runDir, stdout: () => out, stderr: () => err, info };
}

/** Every process whose command line mentions the run folder: components, the reaper, Keycloak's JVM. */
function processesOf(runDir: string): string[] {
  try {
    return execFileSync("pgrep", ["-af", runDir], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

async function expectNothingLeft(s: Started): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (processesOf(s.runDir).length > 0 && Date.now() < deadline) await sleep(250);
  expect(processesOf(s.runDir)).toEqual([]);
  for (const [name, pid] of Object.entries(s.info.pids)) expect(isAlive(pid), `${name} (pid ${pid}) still running`).toBe(false);
  for (const [name, port] of Object.entries(s.info.ports)) {
    expect(await isListening(port), `${name} still listening on ${port}`).toBe(false);
  }
}

describe("the start command", () => {
  it("brings the stack up, its printed curl works, and Ctrl-C leaves no process or port behind", async () => {
    const s = await startCommand();
    try {
      const lines = s.stdout().split("\n").map((l) => l.trim());
      const tokenLine = lines.find((l) => l.startsWith("TOKEN="));
      const curlLine = lines.find((l) => l.startsWith("curl -s -H"));
      expect(tokenLine).toBeDefined();
      expect(curlLine).toContain(s.info.entryUrl);
      const answer = execFileSync("bash", ["-c", `set -euo pipefail\n${tokenLine}\n${curlLine}`], { encoding: "utf8" });
      expect(JSON.parse(answer).identity.username).toBe("alice");
      expect(Object.keys(s.info.pids).sort()).toEqual(["envoy", "keycloak", "model-runtime", "postgres", "server"]);

      process.kill(-s.child.pid!, "SIGINT");
      // "close", not "exit": it waits for the harness too, which holds the same output pipes.
      const exit = await new Promise<{ code: number | null; signal: string | null }>((r) =>
        s.child.once("close", (code, signal) => r({ code, signal })),
      );
      // npm re-raises the signal its script received; the harness itself exits 0 after stopping.
      expect(exit.code === 0 || exit.signal === "SIGINT", JSON.stringify(exit)).toBe(true);
      expect(s.stderr()).toContain("[altgate:stack] stopped");
      await expectNothingLeft(s);
    } finally {
      try {
        process.kill(-s.child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
      rmSync(s.runDir, { recursive: true, force: true });
    }
  }, 300_000);

  it("leaves nothing behind even when the harness itself is killed with SIGKILL", async () => {
    const s = await startCommand();
    try {
      process.kill(s.info.harnessPid, "SIGKILL");
      await expectNothingLeft(s);
    } finally {
      try {
        process.kill(-s.child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
      rmSync(s.runDir, { recursive: true, force: true });
    }
  }, 300_000);
});
