import { join } from "node:path";
import { repoRoot } from "../paths.ts";
import { freePort } from "../ports.ts";
import { spawnComponent, stopProcess, type Managed } from "../processes.ts";
import { waitUntilReady, httpOk } from "../readiness.ts";

export interface Server {
  url: string;
  port: number;
  process: Managed;
  stop(): Promise<void>;
}

export async function startServer(runDir: string, env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const proc = spawnComponent({
    name: "server",
    command: process.execPath,
    args: ["--import", "tsx", join(repoRoot, "server/src/main.ts")],
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
    logFile: join(runDir, "logs", "server.log"),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(proc, () => httpOk(`${url}/readyz`), 30_000, "200 from /readyz");
  return { url, port, process: proc, stop: () => stopProcess(proc) };
}
