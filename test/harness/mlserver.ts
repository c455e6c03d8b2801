import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, toolsDir, log } from "./paths.ts";
import { freePort } from "./ports.ts";
import { sleep, spawnComponent, stopProcess, type Managed } from "./processes.ts";
import { waitUntilReady, httpOk } from "./readiness.ts";
import { MissingPrerequisite, dirSizeMb, step } from "./tools.ts";

/**
 * MLServer (Seldon's Open Inference Protocol server, from PyPI) with its scikit-learn runtime: the
 * unmodified third-party model server that altgate fronts next to its own ONNX runtime.
 */
export const MLSERVER_VERSION = "1.7.1";

/**
 * scikit-learn, joblib and numpy must be the releases that pickled models/mlserver-iris/model.joblib,
 * so they are read from the training requirements instead of being pinned twice.
 */
function trainingPins(): string[] {
  const file = join(repoRoot, "models/train/requirements.txt");
  const pins = readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^(scikit-learn|joblib|numpy)==/.test(l));
  if (pins.length !== 3) throw new Error(`mlserver: ${file} must pin scikit-learn, joblib and numpy (found ${pins.join(", ")})`);
  return pins;
}

const run = promisify(execFile);

/**
 * Installs MLServer into a virtual environment shared by every checkout and returns its `mlserver`
 * command. A venv cannot be moved after creation (its scripts name their interpreter by absolute
 * path), so it is built in place and a marker file, written last, says it is complete.
 */
export async function ensureMlserver(): Promise<string> {
  const requirements = [`mlserver==${MLSERVER_VERSION}`, `mlserver-sklearn==${MLSERVER_VERSION}`, ...trainingPins()];
  const sklearn = requirements.find((r) => r.startsWith("scikit-learn=="))!.split("==")[1];
  const venv = join(toolsDir, `mlserver-${MLSERVER_VERSION}-sklearn-${sklearn}`);
  const bin = join(venv, "bin", "mlserver");
  const marker = join(venv, ".altgate-installed");
  if (existsSync(marker) && existsSync(bin)) return bin;
  mkdirSync(toolsDir, { recursive: true });
  const lock = `${venv}.lock`;
  await acquire(lock);
  try {
    if (!(existsSync(marker) && existsSync(bin))) await install(venv, requirements, marker);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return bin;
}

/**
 * Test files of both vitest projects may ask for MLServer at once, from different workers; a lock
 * directory (mkdir is atomic) lets one install while the others wait. A lock older than any install
 * is left over from a killed run.
 */
async function acquire(lock: string): Promise<void> {
  const staleMs = 15 * 60_000;
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > staleMs) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (!announced) log("mlserver", `waiting for another process installing MLServer (${lock})`);
    announced = true;
    await sleep(1000);
  }
}

async function install(venv: string, requirements: string[], marker: string): Promise<void> {
  try {
    await run("python3", ["-c", "import venv, ensurepip"]);
  } catch {
    throw new MissingPrerequisite(
      "mlserver: python3 with the venv and ensurepip modules is needed to install MLServer from PyPI " +
        "(Debian: apt-get install python3 python3-venv python3-pip)",
    );
  }
  const started = Date.now();
  rmSync(venv, { recursive: true, force: true });
  log("mlserver", `installing ${requirements.join(" ")} into ${venv}`);
  try {
    await step("mlserver", "python3", ["-m", "venv", venv]);
    await step("mlserver", join(venv, "bin", "python"), [
      "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off", ...requirements,
    ]);
  } catch (err) {
    rmSync(venv, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\nmlserver: the PyPI registry refused or could not be reached; nothing was installed.`);
  }
  writeFileSync(marker, `${requirements.join("\n")}\n`);
  log("mlserver", `installed (${dirSizeMb(venv)} MB on disk) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

export interface Mlserver {
  url: string;
  port: number;
  process: Managed;
  stop(): Promise<void>;
}

/**
 * Starts `mlserver start <modelDir>` on free 127.0.0.1 ports. The model folder is used unchanged;
 * the ports come from environment variables, which MLServer reads for whatever settings.json leaves
 * out. Its gRPC and metrics servers cannot be switched off, so they get free ports too.
 */
export async function startMlserver(modelDir: string, runDir: string): Promise<Mlserver> {
  const bin = await ensureMlserver();
  const [port, grpcPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const proc = spawnComponent({
    name: "mlserver",
    command: bin,
    args: ["start", modelDir],
    env: {
      ...process.env,
      MLSERVER_HOST: "127.0.0.1",
      MLSERVER_HTTP_PORT: String(port),
      MLSERVER_GRPC_PORT: String(grpcPort),
      MLSERVER_METRICS_PORT: String(metricsPort),
      PYTHONUNBUFFERED: "1",
    },
    logFile: join(runDir, "logs", "mlserver.log"),
    stopSignal: "SIGTERM",
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(proc, () => httpOk(`${url}/v2/health/ready`), 120_000, "200 from /v2/health/ready");
  return { url, port, process: proc, stop: () => stopProcess(proc) };
}
