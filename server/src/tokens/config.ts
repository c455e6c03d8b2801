import type { TokenRoutesDeps } from "./routes.ts";
import type { TokenServiceConfig } from "./service.ts";

export interface TokenEnvConfig {
  service: TokenServiceConfig;
  introspectionClient: TokenRoutesDeps["introspectionClient"];
  keycloak: TokenRoutesDeps["keycloak"];
}

/**
 * Reads the token service's settings from the environment; throws naming the variable at fault.
 *
 * ALTGATE_INTROSPECTION_CLIENT_ID, ALTGATE_INTROSPECTION_CLIENT_SECRET  required: the filter's credentials
 * ALTGATE_TOKEN_MAX_LIFETIME_S      default 7776000 (90 days)
 * ALTGATE_TOKEN_DEFAULT_LIFETIME_S  default 2592000 (30 days), capped by the maximum
 * ALTGATE_TOKEN_MAX_ACTIVE          default 50 live tokens per user
 * ALTGATE_OIDC_MAX_LIFETIME_S       default 86400: cap on a recorded Keycloak token's exp
 * ALTGATE_LAST_USED_FLUSH_MS        default 5000
 * KEYCLOAK_REVOCATION_ENDPOINT      e.g. http://keycloak:8080/realms/altgate/protocol/openid-connect/revoke;
 *                                   unset: /v1/revoke only records the revocation at the gateway
 * KEYCLOAK_REVOCATION_CLIENT_SECRETS  "client-id=secret,other=secret" for confidential clients
 */
export function tokenConfigFromEnv(env: NodeJS.ProcessEnv): TokenEnvConfig {
  const int = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number ≥ ${min}, got "${raw}"`);
    return value;
  };
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is required`);
    return value;
  };
  const endpoint = env.KEYCLOAK_REVOCATION_ENDPOINT;
  if (endpoint !== undefined && endpoint !== "" && !/^https?:\/\//.test(endpoint)) {
    throw new Error(`KEYCLOAK_REVOCATION_ENDPOINT must be an http(s) URL, got "${endpoint}"`);
  }
  const clientSecrets: Record<string, string> = {};
  for (const pair of (env.KEYCLOAK_REVOCATION_CLIENT_SECRETS ?? "").split(",").filter((p) => p.trim() !== "")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error("KEYCLOAK_REVOCATION_CLIENT_SECRETS must be a comma-separated list of client-id=secret");
    clientSecrets[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
  }
  return {
    service: {
      maxLifetimeS: int("ALTGATE_TOKEN_MAX_LIFETIME_S", 90 * 86400, 1),
      defaultLifetimeS: int("ALTGATE_TOKEN_DEFAULT_LIFETIME_S", 30 * 86400, 1),
      maxActiveTokensPerOwner: int("ALTGATE_TOKEN_MAX_ACTIVE", 50, 1),
      oidcMaxLifetimeS: int("ALTGATE_OIDC_MAX_LIFETIME_S", 86400, 1),
      lastUsedFlushMs: int("ALTGATE_LAST_USED_FLUSH_MS", 5000, 100),
    },
    introspectionClient: { id: required("ALTGATE_INTROSPECTION_CLIENT_ID"), secret: required("ALTGATE_INTROSPECTION_CLIENT_SECRET") },
    keycloak: endpoint ? { revocationEndpoint: endpoint, clientSecrets } : undefined,
  };
}
