import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";

const base = { DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db" };
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
  it("has defaults for everything but the database", () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({ port: 8081, host: "127.0.0.1", maxBodyBytes: 1048576, modelTimeoutMs: 10000, readyModels: "all", logLevel: "info" });
    expect(c.modelsFile).toBeUndefined();
    expect(c.hmacKey).toBeUndefined();
  });

  it("reads every variable", () => {
    const c = loadConfig({
      ...base,
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
  });

  it("reports every bad variable at once, by name", () => {
    const p = problems({ PORT: "http", ALTGATE_MAX_BODY_BYTES: "1MB", ALTGATE_IDENTITY_HMAC_KEY: "short", ALTGATE_READY_MODELS: "some", LOG_LEVEL: "loud" });
    expect(p).toHaveLength(6);
    expect(p.join("\n")).toMatch(/PORT must be an integer from 1 to 65535, got "http"/);
    expect(p.join("\n")).toMatch(/DATABASE_URL is required/);
    expect(p.join("\n")).toMatch(/ALTGATE_MAX_BODY_BYTES must be an integer/);
    expect(p.join("\n")).toMatch(/ALTGATE_IDENTITY_HMAC_KEY must be at least 32/);
    expect(p.join("\n")).toMatch(/ALTGATE_READY_MODELS must be one of all, any, none, got "some"/);
    expect(p.join("\n")).toMatch(/LOG_LEVEL must be one of/);
    expect(p.join("\n")).not.toContain("short");
  });

  it("refuses a database URL of another kind and an out-of-range number", () => {
    expect(problems({ DATABASE_URL: "mysql://x" })).toEqual(["DATABASE_URL must start with postgres:// or postgresql://"]);
    expect(problems({ ...base, PORT: "70000" })[0]).toMatch(/^PORT must be an integer from 1 to 65535/);
    expect(problems({ ...base, ALTGATE_MODEL_TIMEOUT_MS: "-5" })[0]).toMatch(/^ALTGATE_MODEL_TIMEOUT_MS/);
  });
});
