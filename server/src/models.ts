/** Turns the registry's model configurations into model handles with their container clients. */
import type { Config } from "./config.ts";
import type { ModelHandle } from "./context.ts";
import type { Metrics } from "./metrics.ts";
import { ModelClient, Upstreams } from "./model-client.ts";
import type { ModelConfig } from "./registry.ts";

export type ModelDefaults = Pick<Config, "modelTimeoutMs" | "modelMaxConcurrency" | "modelMaxQueue" | "modelMaxResponseBytes">;

export function connectModels(configs: ModelConfig[], defaults: ModelDefaults, upstreams: Upstreams, metrics?: Metrics): ModelHandle[] {
  // One pool per container origin, with a connection for every call its models may have in flight.
  const connections = new Map<string, number>();
  const concurrency = (m: ModelConfig) => m.maxConcurrency ?? defaults.modelMaxConcurrency;
  for (const m of configs) connections.set(m.endpoint, (connections.get(m.endpoint) ?? 0) + concurrency(m));
  return configs.map((m) => ({
    manifest: m.manifest,
    endpoint: m.endpoint,
    client: new ModelClient(
      {
        model: m.manifest.name,
        upstreamName: m.upstreamName,
        endpoint: m.endpoint,
        timeoutMs: m.timeoutMs ?? defaults.modelTimeoutMs,
        maxConcurrency: concurrency(m),
        maxQueue: m.maxQueue ?? defaults.modelMaxQueue,
        maxResponseBytes: defaults.modelMaxResponseBytes,
      },
      upstreams.pool(m.endpoint, connections.get(m.endpoint)!),
      metrics,
    ),
  }));
}
