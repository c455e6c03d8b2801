/**
 * The server's configuration, from the environment only. `loadConfig` is pure (it takes the
 * environment as an argument) and reports every bad variable at once; main.ts prints the message
 * and exits with status 2.
 */

export type ReadyModels = "all" | "any" | "none";
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  /** Path of the model registry file; undefined: no models (the server still runs). */
  modelsFile?: string;
  /** The filter's identity HMAC key; undefined: identity headers are trusted unsigned. */
  hmacKey?: Buffer;
  maxSkewSeconds: number;
  maxBodyBytes: number;
  modelTimeoutMs: number;
  modelMaxConcurrency: number;
  modelMaxQueue: number;
  modelMaxResponseBytes: number;
  readyTimeoutMs: number;
  /** Which model containers /readyz requires: every one, at least one, or none. */
  readyModels: ReadyModels;
  logLevel: LogLevel;
}

/** Every variable, its default and meaning: printed by the error message and the README. */
export const ENV_DOC: Record<string, string> = {
  PORT: "TCP port to listen on (default 8081)",
  HOST: "address to listen on (default 127.0.0.1)",
  DATABASE_URL: "PostgreSQL URL, postgres://user:password@host:port/database (required)",
  ALTGATE_MODELS: "path of the model registry JSON file (default: no models)",
  ALTGATE_IDENTITY_HMAC_KEY: "the filter's identity.hmac_key, at least 32 characters; when set, unsigned or badly signed identities get 401",
  ALTGATE_IDENTITY_MAX_SKEW_S: "accepted age of an identity signature, seconds (default 60, 1..600)",
  ALTGATE_MAX_BODY_BYTES: "largest request body, bytes (default 1048576)",
  ALTGATE_MODEL_TIMEOUT_MS: "default per-call timeout for model containers, ms (default 10000)",
  ALTGATE_MODEL_MAX_CONCURRENCY: "default calls in flight per model (default 16)",
  ALTGATE_MODEL_MAX_QUEUE: "default calls waiting per model before 503 (default 64)",
  ALTGATE_MODEL_MAX_RESPONSE_BYTES: "largest answer accepted from a model container, bytes (default 16777216)",
  ALTGATE_READY_TIMEOUT_MS: "timeout of each /readyz check, ms (default 1000)",
  ALTGATE_READY_MODELS: "model containers /readyz requires: all (default), any or none",
  LOG_LEVEL: `log level: ${LOG_LEVELS.join(", ")} (default info)`,
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "ConfigError";
  }
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const value = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
      return fallback;
    }
    return raw as T;
  };

  const port = int("PORT", 8081, 1, 65535);
  const host = value("HOST") ?? "127.0.0.1";
  const databaseUrl = value("DATABASE_URL") ?? "";
  if (!databaseUrl) problems.push("DATABASE_URL is required: postgres://user:password@host:port/database");
  else if (!/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push("DATABASE_URL must start with postgres:// or postgresql://");

  const key = env.ALTGATE_IDENTITY_HMAC_KEY;
  let hmacKey: Buffer | undefined;
  if (key !== undefined && key !== "") {
    // Same rule as the filter's identity.hmac_key: 32+ visible ASCII characters.
    if (key.length < 32 || !/^[\x21-\x7e]+$/.test(key)) {
      problems.push("ALTGATE_IDENTITY_HMAC_KEY must be at least 32 visible ASCII characters (the filter's identity.hmac_key)");
    } else {
      hmacKey = Buffer.from(key, "utf8");
    }
  }

  const config: Config = {
    port,
    host,
    databaseUrl,
    modelsFile: value("ALTGATE_MODELS"),
    hmacKey,
    maxSkewSeconds: int("ALTGATE_IDENTITY_MAX_SKEW_S", 60, 1, 600),
    maxBodyBytes: int("ALTGATE_MAX_BODY_BYTES", 1024 * 1024, 1024, 256 * 1024 * 1024),
    modelTimeoutMs: int("ALTGATE_MODEL_TIMEOUT_MS", 10_000, 1, 600_000),
    modelMaxConcurrency: int("ALTGATE_MODEL_MAX_CONCURRENCY", 16, 1, 1024),
    modelMaxQueue: int("ALTGATE_MODEL_MAX_QUEUE", 64, 0, 100_000),
    modelMaxResponseBytes: int("ALTGATE_MODEL_MAX_RESPONSE_BYTES", 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    readyTimeoutMs: int("ALTGATE_READY_TIMEOUT_MS", 1000, 1, 60_000),
    readyModels: oneOf("ALTGATE_READY_MODELS", ["all", "any", "none"] as const, "all"),
    logLevel: oneOf("LOG_LEVEL", LOG_LEVELS, "info"),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
