/** Types shared by the routes: the Hono environment and the resolved dependencies. */
import type { Identity } from "./identity.ts";
import type { ReadyModels } from "./config.ts";
import type { ApiError } from "./errors.ts";
import type { Logger } from "./logging.ts";
import type { Manifest } from "./manifest.ts";
import type { Metrics } from "./metrics.ts";
import type { ModelClient } from "./model-client.ts";

export interface AppEnv {
  Variables: {
    requestId: string;
    identity?: Identity;
    /** The model a request is about, for the access log. */
    model?: string;
    /** The error answered, for the access log (with its upstream detail). */
    error?: ApiError;
  };
}

/** A model the server serves: its manifest and the client for its container. */
export interface ModelHandle {
  manifest: Manifest;
  /** The container's origin (readiness is checked once per origin). */
  endpoint: string;
  client: ModelClient;
}

export interface Deps {
  checkDatabase(): Promise<void>;
  models: Map<string, ModelHandle>;
  probe(endpoint: string, timeoutMs: number): Promise<void>;
  hmacKey?: Buffer;
  maxSkewSeconds: number;
  maxBodyBytes: number;
  readyModels: ReadyModels;
  readyTimeoutMs: number;
  logger: Logger;
  metrics: Metrics;
  nowSeconds(): number;
}
