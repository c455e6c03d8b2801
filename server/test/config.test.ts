import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";

const base = { ALTGATE_INTROSPECTION_CLIENT_ID: "altgate-gateway", ALTGATE_INTROSPECTION_CLIENT_SECRET: " s3cret " };
const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected the configuration to be refused");
};

describe("configuration", () => {
  it("has defaults for everything but the filter's introspection credentials", () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({ port: 8081, host: "127.0.0.1", maxBodyBytes: 1048576, modelTimeoutMs: 10000, readyModels: "all", logLevel: "info" });
    expect(c.modelsFile).toBeUndefined();
    expect(c.hmacKey).toBeUndefined();
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toBe(".altgate/server-data");
    expect(c.portal).toBeUndefined();
    expect(c.tokens).toEqual({
      service: { maxLifetimeS: 7776000, defaultLifetimeS: 2592000, maxActiveTokensPerOwner: 50, oidcMaxLifetimeS: 86400, lastUsedFlushMs: 5000 },
      introspectionClient: { id: "altgate-gateway", secret: " s3cret " },
    });
  });

  it("reads every variable", () => {
    const c = loadConfig({
      ...base,
      DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db",
      ALTGATE_DATA_DIR: "/var/lib/altgate",
      ALTGATE_TOKEN_MAX_LIFETIME_S: "3600",
      ALTGATE_TOKEN_DEFAULT_LIFETIME_S: "600",
      ALTGATE_TOKEN_MAX_ACTIVE: "5",
      ALTGATE_OIDC_MAX_LIFETIME_S: "300",
      ALTGATE_LAST_USED_FLUSH_MS: "1000",
      ALTGATE_PORTAL_ISSUER: "http://127.0.0.1:8080/realms/altgate",
      PORT: "9000",
      HOST: "0.0.0.0",
      ALTGATE_MODELS: "/etc/altgate/models.json",
      ALTGATE_IDENTITY_HMAC_KEY: "k".repeat(32),
      ALTGATE_IDENTITY_MAX_SKEW_S: "30",
      ALTGATE_MAX_BODY_BYTES: "2048",
      ALTGATE_MODEL_TIMEOUT_MS: "500",
      ALTGATE_MODEL_MAX_CONCURRENCY: "4",
      ALTGATE_MODEL_MAX_QUEUE: "0",
      ALTGATE_READY_MODELS: "any",
      LOG_LEVEL: "warn",
    });
    expect(c).toMatchObject({ port: 9000, host: "0.0.0.0", modelsFile: "/etc/altgate/models.json", maxSkewSeconds: 30, maxBodyBytes: 2048, modelTimeoutMs: 500, modelMaxConcurrency: 4, modelMaxQueue: 0, readyModels: "any", logLevel: "warn" });
    expect(c.hmacKey?.toString()).toBe("k".repeat(32));
    expect(c).toMatchObject({ databaseUrl: "postgres://u:p@127.0.0.1:5432/db", dataDir: "/var/lib/altgate" });
    expect(c.tokens.service).toEqual({ maxLifetimeS: 3600, defaultLifetimeS: 600, maxActiveTokensPerOwner: 5, oidcMaxLifetimeS: 300, lastUsedFlushMs: 1000 });
    expect(c.portal).toEqual({ issuer: "http://127.0.0.1:8080/realms/altgate", clientId: "altgate-portal" });
  });

  it("reads the Keycloak revocation endpoint and confidential clients' secrets", () => {
    const c = loadConfig({
      ...base,
      KEYCLOAK_REVOCATION_ENDPOINT: "http://127.0.0.1:8080/realms/altgate/protocol/openid-connect/revoke",
      KEYCLOAK_REVOCATION_CLIENT_SECRETS: "altgate-machine=machine-dev-secret, altgate-shortlived=a=b",
    });
    expect(c.tokens.keycloak).toEqual({
      revocationEndpoint: "http://127.0.0.1:8080/realms/altgate/protocol/openid-connect/revoke",
      clientSecrets: { "altgate-machine": "machine-dev-secret", "altgate-shortlived": "a=b" },
    });
  });

  it("reports every bad variable at once, by name", () => {
    const p = problems({
      PORT: "http",
      ALTGATE_MAX_BODY_BYTES: "1MB",
      ALTGATE_IDENTITY_HMAC_KEY: "short",
      ALTGATE_READY_MODELS: "some",
      LOG_LEVEL: "loud",
      ALTGATE_TOKEN_MAX_LIFETIME_S: "1.5",
      KEYCLOAK_REVOCATION_ENDPOINT: "keycloak:8080",
      KEYCLOAK_REVOCATION_CLIENT_SECRETS: "nosecret",
      ALTGATE_PORTAL_ISSUER: "/realms/altgate",
    });
    expect(p).toHaveLength(11);
    expect(p.join("\n")).toMatch(/PORT must be an integer from 1 to 65535, got "http"/);
    expect(p).toContain("ALTGATE_INTROSPECTION_CLIENT_ID is required");
    expect(p).toContain("ALTGATE_INTROSPECTION_CLIENT_SECRET is required");
    expect(p.join("\n")).toMatch(/ALTGATE_TOKEN_MAX_LIFETIME_S must be an integer from 1 to \d+, got "1.5"/);
    expect(p.join("\n")).toMatch(/KEYCLOAK_REVOCATION_ENDPOINT must be an http\(s\) URL, got "keycloak:8080"/);
    expect(p).toContain("KEYCLOAK_REVOCATION_CLIENT_SECRETS must be a comma-separated list of client-id=secret");
    expect(p.join("\n")).toMatch(/ALTGATE_PORTAL_ISSUER must be an http\(s\) URL/);
    expect(p.join("\n")).toMatch(/ALTGATE_MAX_BODY_BYTES must be an integer/);
    expect(p.join("\n")).toMatch(/ALTGATE_IDENTITY_HMAC_KEY must be at least 32/);
    expect(p.join("\n")).toMatch(/ALTGATE_READY_MODELS must be one of all, any, none, got "some"/);
    expect(p.join("\n")).toMatch(/LOG_LEVEL must be one of/);
    expect(p.join("\n")).not.toContain("short");
    expect(p.join("\n")).not.toContain("nosecret");
  });

  it("refuses a database URL of another kind and an out-of-range number", () => {
    expect(problems({ ...base, DATABASE_URL: "mysql://x" })).toEqual(["DATABASE_URL must start with postgres:// or postgresql://"]);
    expect(problems({ ...base, PORT: "70000" })[0]).toMatch(/^PORT must be an integer from 1 to 65535/);
    expect(problems({ ...base, ALTGATE_MODEL_TIMEOUT_MS: "-5" })[0]).toMatch(/^ALTGATE_MODEL_TIMEOUT_MS/);
  });
});
