/**
 * One cache-hit request as the test host sees it, shared by the host bench
 * (filter-host.bench.ts) and the test holding bench:filter's host-call floor to the filter
 * (test/unit/bench-host-calls.test.ts), so that both measure and check the same path.
 */
import { devFilterConfig } from "../../envoy/filter-config.ts";

export const ISSUER = "http://keycloak:8080/realms/altgate";

/** The stack's filter configuration, its issuer this fixture's. */
export const FILTER_CONFIG = devFilterConfig({ keycloakAuthority: "keycloak:8080", realm: "altgate", issuer: ISSUER });

// A Keycloak access token is a JWT of about 1,300 characters; its content does not matter here.
export const TOKEN = `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.${"eyJleHAiOjE3MDAwMDAwMDB9".repeat(40)}.${"sig_-".repeat(68)}`;

/** Keycloak's answer for TOKEN: active for an hour from `nowMs`, with a machine client's roles. */
export function introspectionBody(nowMs: number): string {
  const nowS = Math.floor(nowMs / 1000);
  return JSON.stringify({
    active: true, exp: nowS + 3600, iat: nowS, jti: "onrtac:7d1e9a7c-0b5f-4a55-8c1e-000000000001", iss: ISSUER,
    aud: ["altgate-gateway", "account"], sub: "5f0c2a4e-1b7d-4c55-9e0f-a11ce0000001", typ: "Bearer", azp: "altgate-machine",
    realm_access: { roles: ["model:read", "model:invoke", "offline_access", "default-roles-altgate"] },
    resource_access: { account: { roles: ["manage-account", "view-profile"] } },
    scope: "profile email", client_id: "altgate-machine", username: "service-account-altgate-machine", token_type: "Bearer",
  });
}

/** What autocannon sends through Envoy, with the headers Envoy adds before the filter runs. */
export function requestHeaders(): [string, string][] {
  return [
    [":authority", "127.0.0.1:10001"], [":path", "/v1/models"], [":method", "GET"], [":scheme", "http"],
    ["user-agent", "autocannon"], ["authorization", `Bearer ${TOKEN}`],
    ["x-forwarded-proto", "http"], ["x-request-id", "0b7f3c1e-5d2a-4c9b-8e6f-1a2b3c4d5e6f"], ["x-envoy-expected-rq-timeout-ms", "15000"],
  ];
}
