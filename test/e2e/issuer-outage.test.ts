import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { startStack, type Stack } from "../harness/stack.ts";
import { startKeycloak } from "../harness/components/keycloak.ts";
import { filterCounter } from "./envoy-stats.ts";
import { sleep } from "../harness/processes.ts";

// A stack of its own: this file stops and restarts Keycloak, and uses a short positive TTL so a
// logged-out session's cached entry runs out within the test.
const POSITIVE_TTL_S = 12;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    filterConfig: (d) => ({ ...d, cache: { positive_ttl_s: POSITIVE_TTL_S, negative_ttl_s: 5, max_entries: 1000 } }),
  });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

async function tokenGrant(form: Record<string, string>): Promise<{ access_token: string; refresh_token?: string }> {
  const res = await fetch(stack.keycloak.tokenEndpoint, { method: "POST", body: new URLSearchParams(form) });
  expect(res.status).toBe(200);
  return (await res.json()) as { access_token: string; refresh_token?: string };
}

const machineToken = async () =>
  (await tokenGrant({ grant_type: "client_credentials", client_id: "altgate-machine", client_secret: "machine-dev-secret" })).access_token;

const whoami = (token: string) =>
  fetch(`${stack.envoy.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });

describe("when Keycloak goes away and comes back", () => {
  it("answers 503 with Retry-After for new tokens, keeps serving cached ones, and recovers without restarting Envoy", async () => {
    const cached = await machineToken();
    const fresh = await machineToken();
    expect((await whoami(cached)).status).toBe(200);

    const { port, managementPort } = stack.keycloak;
    await stack.keycloak.stop();
    try {
      const refused = await whoami(fresh);
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(((await refused.json()) as { error: string }).error).toBe("temporarily_unavailable");
      // Nothing was cached for the failure: a second try asks again (the filter's own count, as a
      // refused connection never shows as an upstream request of the cluster).
      const before = await filterCounter(stack.envoy.adminUrl, "altgate.introspection_calls");
      expect((await whoami(fresh)).status).toBe(503);
      expect((await filterCounter(stack.envoy.adminUrl, "altgate.introspection_calls")) - before).toBe(1);

      expect((await whoami(cached)).status).toBe(200);
    } finally {
      stack.keycloak = await startKeycloak(stack.tools.keycloak, stack.runDir, { port, managementPort });
    }
    const afterRestart = await machineToken();
    expect((await whoami(afterRestart)).status).toBe(200);
  }, 180_000);
});

describe("a token of a logged-out session", () => {
  it("is refused once its cached entry expires", async () => {
    const grant = await tokenGrant({ grant_type: "password", client_id: "altgate-cli", username: "alice", password: "alice-password" });
    expect((await whoami(grant.access_token)).status).toBe(200);
    const usedAt = Date.now();

    const logout = await fetch(`${stack.keycloak.issuer}/protocol/openid-connect/logout`, {
      method: "POST",
      body: new URLSearchParams({ client_id: "altgate-cli", refresh_token: grant.refresh_token! }),
    });
    expect(logout.status).toBe(204);

    // Within the positive TTL the cached introspection still answers: the gap that the
    // revocation feed closes (see the revocation issue).
    expect((await whoami(grant.access_token)).status).toBe(200);

    await sleep(Math.max(0, usedAt + POSITIVE_TTL_S * 1000 - Date.now()) + 1000);
    const res = await whoami(grant.access_token);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_token");
  }, 60_000);
});
