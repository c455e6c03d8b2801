import { inject } from "vitest";

/** Realm users and clients of test/fixtures/altgate-realm.json. */
export const USERS = {
  alice: { password: "alice-password", roles: ["model:read", "model:invoke", "token:manage"] },
  bob: { password: "bob-password", roles: ["model:read"] },
  carol: { password: "carol-password", roles: [] as string[] },
  olivia: { password: "olivia-password", roles: ["model:read", "model:invoke", "model:admin", "token:manage"] },
} as const;

export const MACHINE = { clientId: "altgate-machine", secret: "machine-dev-secret" };

async function tokenRequest(form: Record<string, string>): Promise<string> {
  const { tokenEndpoint } = inject("stack");
  const res = await fetch(tokenEndpoint, { method: "POST", body: new URLSearchParams(form) });
  const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!res.ok || !body.access_token) {
    throw new Error(`Keycloak refused the token request: ${res.status} ${body.error ?? ""} ${body.error_description ?? ""}`);
  }
  return body.access_token;
}

export function passwordGrant(user: keyof typeof USERS): Promise<string> {
  return tokenRequest({ grant_type: "password", client_id: "altgate-cli", username: user, password: USERS[user].password });
}

export function clientCredentials(clientId = MACHINE.clientId, secret = MACHINE.secret): Promise<string> {
  return tokenRequest({ grant_type: "client_credentials", client_id: clientId, client_secret: secret });
}

/** The payload of a JWT, decoded without verification: tests only read claims Keycloak put there. */
export function claims(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1];
  if (!part) throw new Error("not a JWT");
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}
