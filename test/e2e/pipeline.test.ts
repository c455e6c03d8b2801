import { describe, it, expect, inject } from "vitest";
import { passwordGrant, clientCredentials, claims } from "./keycloak.ts";

const stack = inject("stack");

describe("the filter in real Envoy, with real Keycloak tokens", () => {
  it("answers 401 with a JSON error and a Bearer challenge when no token is sent", async () => {
    const res = await fetch(`${stack.entryUrl}/v1/whoami`);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
    const body = (await res.json()) as Record<string, string>;
    expect(body.error).toBe("invalid_token");
    expect(body.error_description).toMatch(/bearer token/);
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("lets a service account's client-credentials token through, and the upstream sees the filter's header", async () => {
    const token = await clientCredentials();
    expect(claims(token).iss).toBe(stack.issuer);
    const res = await fetch(`${stack.entryUrl}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { headers: Record<string, string> };
    expect(body.headers["x-altgate-filter"]).toBe("altgate");
  });

  it("lets a user's password-grant token through", async () => {
    const token = await passwordGrant("alice");
    expect(claims(token).preferred_username).toBe("alice");
    const res = await fetch(`${stack.entryUrl}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { headers: Record<string, string> };
    expect(body.headers["x-altgate-filter"]).toBe("altgate");
  });

  it("does not reach the server when the filter refuses", async () => {
    const direct = await fetch(`${stack.serverUrl}/v1/whoami`);
    expect(((await direct.json()) as { headers: object }).headers).toEqual({});
    const viaEnvoy = await fetch(`${stack.entryUrl}/v1/whoami`, { headers: { authorization: "Basic dXNlcjpwYXNz" } });
    expect(viaEnvoy.status).toBe(401);
  });
});
