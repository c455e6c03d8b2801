import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { renderBootstrap, type BootstrapOptions } from "../../../envoy/bootstrap.ts";
import { freePort } from "../ports.ts";
import { spawnComponent, stopProcess, type Managed } from "../processes.ts";
import { waitUntilReady } from "../readiness.ts";

export interface Envoy {
  url: string;
  adminUrl: string;
  port: number;
  adminPort: number;
  configFile: string;
  process: Managed;
  stop(): Promise<void>;
}

async function adminReady(adminUrl: string): Promise<boolean> {
  const res = await fetch(`${adminUrl}/ready`, { signal: AbortSignal.timeout(2000) });
  return (await res.text()).trim() === "LIVE";
}

export async function startEnvoy(
  binary: string,
  runDir: string,
  opts: Omit<BootstrapOptions, "listenerPort" | "adminPort">,
): Promise<Envoy> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const configFile = join(runDir, "envoy.json");
  mkdirSync(runDir, { recursive: true });
  writeFileSync(configFile, JSON.stringify(renderBootstrap({ ...opts, listenerPort: port, adminPort }), null, 2));
  const proc = spawnComponent({
    name: "envoy",
    command: binary,
    args: [
      "-c", configFile,
      "--concurrency", String(opts.concurrency ?? 2),
      // Each run is its own Envoy; base ids keep their shared-memory regions apart.
      "--base-id", String(port),
      "--log-level", "info",
    ],
    logFile: join(runDir, "logs", "envoy.log"),
  });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await waitUntilReady(proc, () => adminReady(adminUrl), 30_000, "LIVE answer from the admin /ready endpoint");
  return { url: `http://127.0.0.1:${port}`, adminUrl, port, adminPort, configFile, process: proc, stop: () => stopProcess(proc) };
}
