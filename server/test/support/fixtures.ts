/** Manifests and app wiring shared by the server's unit tests. */
import { Writable } from "node:stream";
import { createApp, type AppDeps } from "../../src/app.ts";
import { createLogger } from "../../src/logging.ts";
import { parseManifest, type Manifest } from "../../src/manifest.ts";
import { createMetrics } from "../../src/metrics.ts";
import { Upstreams } from "../../src/model-client.ts";
import { connectModels } from "../../src/models.ts";

export const IRIS = {
  name: "iris-classifier",
  version: "1.0.0",
  framework: "scikit-learn",
  description: "Iris species from flower measurements",
  inputs: [
    {
      name: "features",
      datatype: "FP32",
      shape: [-1, 4],
      description: "sepal and petal measurements, cm",
      fields: ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"],
      minimum: 0,
      maximum: 100,
    },
  ],
  outputs: [
    { name: "label", datatype: "INT64", shape: [-1], labels: ["setosa", "versicolor", "virginica"] },
    { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
  ],
  roles: ["model:invoke"],
  artifact: "model.onnx",
  data: "UCI Iris",
  max_batch: 64,
};

export function manifest(overrides: Partial<Record<keyof typeof IRIS, unknown>> = {}): Manifest {
  return parseManifest({ ...structuredClone(IRIS), ...overrides }, "test-manifest.json");
}

export const INVOKER = { "x-altgate-subject": "user-1", "x-altgate-username": "alice", "x-altgate-roles": "model:read,model:invoke", "x-altgate-token-kind": "oidc" };

export interface TestApp {
  app: ReturnType<typeof createApp>;
  upstreams: Upstreams;
  logs: string[];
  deps: AppDeps;
}

export interface ModelSpec {
  manifest: Manifest;
  endpoint: string;
  timeoutMs?: number;
  maxConcurrency?: number;
  maxQueue?: number;
}

export function makeApp(models: ModelSpec[], extra: Partial<AppDeps> = {}): TestApp {
  const upstreams = new Upstreams();
  const metrics = createMetrics();
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: "debug", destination });
  const handles = connectModels(
    models.map((m) => ({
      manifest: m.manifest,
      manifestFile: "test",
      endpoint: m.endpoint,
      upstreamName: m.manifest.name,
      timeoutMs: m.timeoutMs,
      maxConcurrency: m.maxConcurrency,
      maxQueue: m.maxQueue,
    })),
    { modelTimeoutMs: 2000, modelMaxConcurrency: 8, modelMaxQueue: 16, modelMaxResponseBytes: 1024 * 1024 },
    upstreams,
    metrics,
  );
  const deps: AppDeps = {
    checkDatabase: async () => undefined,
    models: handles,
    probe: (e, t) => upstreams.probe(e, t),
    maxBodyBytes: 64 * 1024,
    readyTimeoutMs: 500,
    logger,
    metrics,
    ...extra,
  };
  return { app: createApp(deps), upstreams, logs, deps };
}

export function post(app: TestApp["app"], path: string, body: unknown, headers: Record<string, string> = INVOKER) {
  return app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export const GOOD = { inputs: { features: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] } };
