import { describe, expect, it } from "vitest";
import { tokenConfigFromEnv } from "../../src/tokens/config.ts";

const base = { ALTGATE_INTROSPECTION_CLIENT_ID: "altgate-filter", ALTGATE_INTROSPECTION_CLIENT_SECRET: "s" };

describe("token service configuration from the environment", () => {
  it("has defaults for everything but the filter's credentials", () => {
    expect(tokenConfigFromEnv(base)).toEqual({
      service: { maxLifetimeS: 7776000, defaultLifetimeS: 2592000, maxActiveTokensPerOwner: 50, oidcMaxLifetimeS: 86400, lastUsedFlushMs: 5000 },
      introspectionClient: { id: "altgate-filter", secret: "s" },
      keycloak: undefined,
    });
  });

  it("names the variable at fault", () => {
    expect(() => tokenConfigFromEnv({})).toThrow("ALTGATE_INTROSPECTION_CLIENT_ID is required");
    expect(() => tokenConfigFromEnv({ ...base, ALTGATE_TOKEN_MAX_LIFETIME_S: "1.5" })).toThrow(/^ALTGATE_TOKEN_MAX_LIFETIME_S must be/);
    expect(() => tokenConfigFromEnv({ ...base, KEYCLOAK_REVOCATION_ENDPOINT: "keycloak:8080" })).toThrow(/^KEYCLOAK_REVOCATION_ENDPOINT/);
    expect(() => tokenConfigFromEnv({ ...base, KEYCLOAK_REVOCATION_CLIENT_SECRETS: "nosecret" })).toThrow(/^KEYCLOAK_REVOCATION_CLIENT_SECRETS/);
  });

  it("reads the Keycloak revocation endpoint and confidential clients' secrets", () => {
    const cfg = tokenConfigFromEnv({
      ...base,
      KEYCLOAK_REVOCATION_ENDPOINT: "http://127.0.0.1:8080/realms/altgate/protocol/openid-connect/revoke",
      KEYCLOAK_REVOCATION_CLIENT_SECRETS: "altgate-machine=machine-dev-secret, altgate-shortlived=a=b",
    });
    expect(cfg.keycloak).toEqual({
      revocationEndpoint: "http://127.0.0.1:8080/realms/altgate/protocol/openid-connect/revoke",
      clientSecrets: { "altgate-machine": "machine-dev-secret", "altgate-shortlived": "a=b" },
    });
  });
});
