import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

export interface Config {
  modelDirs: string[];
  port: number;
  host: string;
  threads: number;
  maxBodyBytes: number;
}

export class UsageError extends Error {}

export const HELP = `altgate model runtime: serves ONNX models over the Open Inference Protocol (KServe v2) REST API.

usage: node --import tsx models/runtime/src/main.ts --models <dir>[,<dir>...] --port <n> [options]

  --models <dirs>         model directories, comma-separated; each holds manifest.json and its
                          ONNX artifact                                 env ALTGATE_MODELS
  --port <n>              TCP port, 1-65535                             env PORT
  --host <address>        address to bind (default 127.0.0.1)           env HOST
  --threads <n>           onnxruntime threads per inference (default 1) env ALTGATE_ORT_THREADS
  --max-body-bytes <n>    largest accepted request body (default 1048576)
                                                                        env ALTGATE_MAX_BODY_BYTES
  --help                  print this text

Routes: GET /v2/health/live, GET /v2/health/ready, GET /v2/models/{name}, GET /v2/models/{name}/ready,
POST /v2/models/{name}/infer (also under /v2/models/{name}/versions/{version}/...).`;

function integer(value: string, option: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    throw new UsageError(`${option} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/** Reads options from the command line, falling back to the environment; `help` when --help was asked for. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): Config | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        models: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        threads: { type: "string" },
        "max-body-bytes": { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return "help";

  const models = values.models ?? env.ALTGATE_MODELS;
  if (!models) throw new UsageError("--models is required (or ALTGATE_MODELS): the model directories to serve");
  const modelDirs = models.split(",").map((d) => d.trim()).filter((d) => d.length > 0).map((d) => resolve(d));
  if (modelDirs.length === 0) throw new UsageError("--models names no directory");
  for (const dir of modelDirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--models: ${dir} is not a directory`);
    if (!existsSync(resolve(dir, "manifest.json"))) throw new UsageError(`--models: ${dir} has no manifest.json`);
  }

  const port = values.port ?? env.PORT;
  if (port === undefined) throw new UsageError("--port is required (or PORT)");
  const host = values.host ?? env.HOST ?? "127.0.0.1";
  if (host.length === 0) throw new UsageError("--host must not be empty");

  return {
    modelDirs,
    port: integer(port, "--port", 1, 65535),
    host,
    threads: integer(values.threads ?? env.ALTGATE_ORT_THREADS ?? "1", "--threads", 1, 64),
    maxBodyBytes: integer(values["max-body-bytes"] ?? env.ALTGATE_MAX_BODY_BYTES ?? "1048576", "--max-body-bytes", 1024, 64 * 1024 * 1024),
  };
}
