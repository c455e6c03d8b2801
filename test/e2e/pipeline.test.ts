import { describe, it, expect, inject } from "vitest";
import { passwordGrant, clientCredentials, claims } from "./keycloak.ts";

const stack = inject("stack");

interface Whoami {
  identity: { subject: string; username: string; client: string; roles: string[]; tokenKind: string } | null;
  headers: Record<string, string>;
  authorization_forwarded: boolean;
}

describe("the filter in real Envoy, with real Keycloak tokens", () => {
  it("answers 401 with a JSON error and a Bearer challenge when no token is sent", async () => {
    const res = await fetch(`${stack.entryUrl}/v1/whoami`);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="altgate"');
    const body = (await res.json()) as Record<string, string>;
    expect(body.error).toBe("invalid_token");
    expect(body.error_description).toMatch(/bearer token/);
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("lets a service account's client-credentials token through; the upstream sees who it is, not the token", async () => {
    const token = await clientCredentials();
    expect(claims(token).iss).toBe(stack.issuer);
    const res = await fetch(`${stack.entryUrl}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Whoami;
    expect(body.identity?.subject).toBe(claims(token).sub);
    expect(body.identity?.client).toBe("altgate-machine");
    expect(body.identity?.tokenKind).toBe("oidc");
    expect(body.identity?.roles).toEqual(expect.arrayContaining(["model:read", "model:invoke"]));
    expect(body.authorization_forwarded).toBe(false);
  });

  it("lets a user's password-grant token through with the user's name and roles", async () => {
    const token = await passwordGrant("alice");
    const res = await fetch(`${stack.entryUrl}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Whoami;
    expect(body.identity?.username).toBe("alice");
    expect(body.identity?.roles).toEqual(expect.arrayContaining(["model:read", "model:invoke", "token:manage"]));
    expect(body.identity?.roles).not.toContain("model:admin");
  });

  it("does not reach the server when the filter refuses", async () => {
    const viaEnvoy = await fetch(`${stack.entryUrl}/v1/whoami`, { headers: { authorization: "Basic dXNlcjpwYXNz" } });
    expect(viaEnvoy.status).toBe(401);
    expect(((await viaEnvoy.json()) as { error: string }).error).toBe("invalid_request");
  });
});
