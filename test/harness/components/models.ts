import { join } from "node:path";
import { repoRoot, runRoot } from "../paths.ts";
import { freePort } from "../ports.ts";
import { spawnComponent, stopProcess, type Managed } from "../processes.ts";
import { httpOk, waitUntilReady } from "../readiness.ts";

export const MAIN = join(repoRoot, "models/runtime/src/main.ts");
export const ONNX_MODELS = ["iris-classifier", "diabetes-progression", "toxicity-descriptors"];
export const modelDir = (name: string) => join(repoRoot, "models", name);

export interface Runtime {
  url: string;
  port: number;
  process: Managed;
  stop(): Promise<void>;
}

/**
 * The real runtime process, as a container would run it, on a free 127.0.0.1 port. Free of vitest,
 * so the stack harness can start model containers with it too.
 */
export async function startRuntime(
  models: string[],
  { name = "model-runtime", runDir = join(runRoot, `models-${process.pid}-${Date.now()}`) } = {},
): Promise<Runtime> {
  const port = await freePort();
  const proc = spawnComponent({
    name,
    command: process.execPath,
    args: ["--import", "tsx", MAIN, "--models", models.map(modelDir).join(","), "--port", String(port), "--host", "127.0.0.1"],
    logFile: join(runDir, "logs", `${name}.log`),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(proc, () => httpOk(`${url}/v2/health/ready`), 30_000, "200 from /v2/health/ready");
  return { url, port, process: proc, stop: () => stopProcess(proc) };
}
