/**
 * The token routes through the real app (createApp: identity and signature checks, error shapes,
 * access log) against a real PostgreSQL; Keycloak's revocation endpoint is a recording stand-in
 * (real Keycloak is the e2e suite's).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type AppDeps } from "../../src/app.ts";
import type { Database } from "../../src/db/index.ts";
import { signIdentity } from "../../src/signature.ts";
import { RevocationFeed } from "../../src/tokens/feed.ts";
import { generateToken, hashToken } from "../../src/tokens/format.ts";
import { TokenService } from "../../src/tokens/service.ts";
import { makeApp } from "../support/fixtures.ts";
import { keys, waitForKey } from "./feed-helpers.ts";
import { startTestPostgres, type TestPostgres } from "./pg-fixture.ts";

interface Who {
  subject: string;
  username: string;
  roles: string[];
  scopes?: string[];
  kind?: "oidc" | "api-token";
}
const alice: Who = { subject: "alice-sub", username: "alice", roles: ["model:read", "model:invoke", "token:manage"], scopes: ["openid"] };
const bob: Who = { subject: "bob-sub", username: "bob", roles: ["model:read", "token:manage"] };
const olivia: Who = { subject: "olivia-sub", username: "olivia", roles: ["model:read", "token:manage", "model:admin"] };
const INTROSPECTION = { id: "altgate-filter", secret: "s3cret with spaces+plus" };

let pgServer: TestPostgres;
let database: Database;
let service: TokenService;
let feed: RevocationFeed;
let tokenDeps: NonNullable<AppDeps["tokens"]>;
let app: ReturnType<typeof createApp>;
let logs: string[];
let keycloak: Server;
const keycloakCalls: { authorization?: string; body: URLSearchParams }[] = [];

function identityHeaders(who: Who): Record<string, string> {
  const enc = encodeURIComponent;
  return {
    "x-altgate-subject": enc(who.subject),
    "x-altgate-username": enc(who.username),
    "x-altgate-client": "altgate-cli",
    "x-altgate-roles": who.roles.map(enc).join(","),
    "x-altgate-scopes": (who.scopes ?? []).map(enc).join(","),
    "x-altgate-token-kind": who.kind ?? "oidc",
    "x-altgate-token-id": "caller-jti",
  };
}

function call(method: string, path: string, who?: Who, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...(who ? identityHeaders(who) : {}), ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    if (typeof body !== "string") (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  return app.request(path, init);
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret).replace(/%20/g, "+")}`).toString("base64")}`,
});

function fakeJwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}.c2lnbmF0dXJl`;
}

async function createToken(who: Who, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/tokens", who, body);
  expect(res.status).toBe(201);
  return (await res.json()) as { token: string; id: string; [k: string]: unknown };
}

beforeAll(async () => {
  pgServer = await startTestPostgres();
  database = await pgServer.database();
  service = new TokenService(database, { maxLifetimeS: 30 * 86400 });
  feed = new RevocationFeed({ connectionString: pgServer.url });
  await feed.start();
  // Records what the route sends to Keycloak's revocation endpoint; real Keycloak is the e2e suite's.
  keycloak = createServer((req: IncomingMessage, res) => {
    let data = "";
    req.on("data", (c) => (data += c));
    req.on("end", () => {
      keycloakCalls.push({ authorization: req.headers.authorization, body: new URLSearchParams(data) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => keycloak.listen(0, "127.0.0.1", r));
  tokenDeps = {
    service,
    feed,
    introspectionClient: INTROSPECTION,
    keycloak: {
      revocationEndpoint: `http://127.0.0.1:${(keycloak.address() as AddressInfo).port}/realms/altgate/protocol/openid-connect/revoke`,
      clientSecrets: { "altgate-machine": "machine-dev-secret" },
    },
  };
  ({ app, logs } = makeApp([], {
    tokens: tokenDeps,
    async checkDatabase() {
      await database.pool.query("select 1");
    },
  }));
}, 60_000);

afterAll(async () => {
  await feed?.stop();
  await service?.close();
  await new Promise((r) => keycloak?.close(r));
  await pgServer?.dispose();
});

describe("token routes", { timeout: 30_000 }, () => {
  it("POST /v1/tokens returns the plaintext once, 201, not cacheable", async () => {
    const res = await call("POST", "/v1/tokens", alice, { name: "ci", lifetime_s: 3600, roles: ["model:read"] });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token).toMatch(/^agt_/);
    expect(res.headers.get("location")).toBe(`/v1/tokens/${body.id}`);
    expect(body).toMatchObject({ name: "ci", roles: ["model:read"], status: "active", owner_username: "alice" });
    const list = (await (await call("GET", "/v1/tokens", alice)).json()) as { tokens: Record<string, unknown>[] };
    expect(list.tokens.map((t) => t.id)).toContain(body.id);
    expect(JSON.stringify(list)).not.toContain(body.token as string);
  });

  it("answers 422 naming the field: roles not held, unknown fields, wrong types; 400 for a body that is not JSON", async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ name: "x", roles: ["model:read", "model:admin"] }, 422, /^roles: role "model:admin" not held/],
      [{ name: "x", roles: ["model:read"], scopes: ["email"] }, 422, /^scopes: scope "email"/],
      [{ name: "x", roles: ["model:read"], lifetime: 60 }, 422, /^lifetime: unknown field/],
      [{ name: "x", roles: ["model:read"], lifetime_s: "60" }, 422, /^lifetime_s: /],
      [{ name: "x", roles: ["model:read"], lifetime_s: 31 * 86400 }, 422, /^lifetime_s: must be .* to 2592000/],
      [{ roles: ["model:read"] }, 422, /^name: /],
      [{ name: "x" }, 422, /^roles: /],
      ["{not json", 400, /JSON/],
    ];
    for (const [body, status, description] of cases) {
      const res = await call("POST", "/v1/tokens", alice, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const err = (await res.json()) as Record<string, unknown>;
      expect(err.error).toBe(status === 422 ? "invalid_input" : "invalid_request");
      expect(err.error_description).toMatch(description);
      if (status === 422) expect((err.issues as { field: string }[])[0]!.field).toBe((err.error_description as string).split(":")[0]);
      expect(err.request_id).toBe(res.headers.get("x-request-id"));
    }
  });

  it("answers 401 without an identity and 403 without token:manage or when called with an API token", async () => {
    const anon = await call("POST", "/v1/tokens", undefined, { name: "x", roles: ["model:read"] });
    expect(anon.status).toBe(401);
    expect(anon.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token"/);
    expect(await anon.json()).toMatchObject({ error: "invalid_token", request_id: expect.any(String) });
    const carol = await call("POST", "/v1/tokens", { subject: "carol", username: "carol", roles: ["model:read"] }, { name: "x", roles: ["model:read"] });
    expect(carol.status).toBe(403);
    expect(carol.headers.get("www-authenticate")).toMatch(/^Bearer error="insufficient_scope"/);
    expect(((await carol.json()) as { error_description: string }).error_description).toContain("token:manage");
    const viaApiToken = await call("POST", "/v1/tokens", { ...alice, kind: "api-token" }, { name: "x", roles: ["model:read"] });
    expect(viaApiToken.status).toBe(403);
  });

  it("answers 404 for another user's token on renew and revoke, and renews and revokes one's own", async () => {
    const mine = await createToken(alice, { name: "mine", lifetime_s: 60, roles: ["model:read"] });
    for (const [method, path] of [
      ["POST", `/v1/tokens/${mine.id}/renew`],
      ["DELETE", `/v1/tokens/${mine.id}`],
    ] as const) {
      const res = await call(method, path, bob);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: "not_found", error_description: "no such token" });
    }
    expect((await call("DELETE", "/v1/tokens/not-a-uuid", bob)).status).toBe(404);
    const renewed = await call("POST", `/v1/tokens/${mine.id}/renew`, alice, { lifetime_s: 7200 });
    expect(renewed.status).toBe(200);
    expect(Date.parse(((await renewed.json()) as { expires_at: string }).expires_at)).toBeGreaterThan(Date.now() + 7000_000);
    expect((await call("POST", `/v1/tokens/${mine.id}/renew`, alice)).status).toBe(200);
    const revoked = await call("DELETE", `/v1/tokens/${mine.id}`, alice);
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ status: "revoked", revoked_by: alice.subject });
    const again = await call("POST", `/v1/tokens/${mine.id}/renew`, alice);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: "token_not_renewable" });
  });

  it("lets model:admin list and revoke any user's tokens, and nobody else", async () => {
    const bobs = await createToken(bob, { name: "bob's", roles: ["model:read"] });
    expect((await call("GET", "/v1/admin/tokens?owner=bob", alice)).status).toBe(403);
    expect((await call("DELETE", `/v1/admin/tokens/${bobs.id}`, alice)).status).toBe(403);
    const listed = (await (await call("GET", "/v1/admin/tokens?owner=bob", olivia)).json()) as { tokens: { id: string; owner_username: string }[] };
    expect(listed.tokens.map((t) => t.id)).toContain(bobs.id);
    expect(new Set(listed.tokens.map((t) => t.owner_username))).toEqual(new Set(["bob"]));
    const res = await call("DELETE", `/v1/admin/tokens/${bobs.id}`, olivia);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "revoked", revoked_by: olivia.subject });
    const twice = await call("GET", "/v1/admin/tokens?owner=bob&owner=alice", olivia);
    expect(twice.status).toBe(422);
    expect(await twice.json()).toMatchObject({ error: "invalid_input", issues: [{ field: "owner" }] });
  });

  it("answers 413 for a body over 64 KiB, before parsing it", async () => {
    const res = await call("POST", "/v1/tokens", alice, { name: "x".repeat(70 * 1024), roles: ["model:read"] });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: "payload_too_large" });
  });

  it("logs each request with its route and subject, and never a token", async () => {
    const { token, id } = await createToken(alice, { name: "logged", roles: ["model:read"] });
    await call("POST", "/internal/v1/introspect", undefined, form({ token }), { ...FORM, ...basic(INTROSPECTION.id, INTROSPECTION.secret) });
    await call("POST", "/v1/revoke", alice, form({ token }), FORM);
    await call("POST", `/v1/tokens/${id}/renew`, alice);
    const lines = logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ route: "/v1/tokens", method: "POST", status: 201, subject: alice.subject }));
    expect(lines).toContainEqual(expect.objectContaining({ route: "/v1/tokens/:id/renew", status: 409, error: "token_not_renewable" }));
    expect(logs.join("\n")).not.toContain(token);
    expect(logs.join("\n")).not.toContain(token.slice(4, 30));
  });
});

describe("signed identities", { timeout: 30_000 }, () => {
  const KEY = Buffer.from("k".repeat(40));
  const NOW = 1_800_000_000;
  const signed = (who: Who) => {
    const h = identityHeaders(who);
    return { ...h, "x-altgate-signature": signIdentity((n) => h[n], KEY, NOW) };
  };

  it("serve the token routes only to identities whose signature verifies; the gateway routes use their own credentials", async () => {
    const { app: strict } = makeApp([], { tokens: tokenDeps, hmacKey: KEY, nowSeconds: () => NOW });
    const unsigned = await strict.request("/v1/tokens", { headers: identityHeaders(alice) });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: "invalid_token", error_description: "the identity headers are not signed" });
    const forged = { ...signed(alice), "x-altgate-roles": "model:admin" };
    expect((await strict.request("/v1/admin/tokens", { headers: forged })).status).toBe(401);
    const ok = await strict.request("/v1/tokens", { headers: signed(alice) });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { tokens: unknown[] }).tokens.length).toBeGreaterThan(0);
    const introspect = await strict.request("/internal/v1/introspect", {
      method: "POST",
      headers: { ...FORM, ...basic(INTROSPECTION.id, INTROSPECTION.secret) },
      body: form({ token: generateToken() }),
    });
    expect(await introspect.json()).toEqual({ active: false });
    expect((await strict.request("/internal/v1/revocations")).status).toBe(200);
  });
});

describe("filter routes", { timeout: 30_000 }, () => {
  it("POST /internal/v1/introspect requires the filter's client credentials", async () => {
    const { token } = await createToken(alice, { name: "introspected", roles: ["model:read", "model:invoke"], scopes: ["openid"] });
    const noAuth = await call("POST", "/internal/v1/introspect", undefined, form({ token }), FORM);
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get("www-authenticate")).toMatch(/^Basic /);
    expect(await noAuth.json()).toMatchObject({ error: "invalid_client" });
    expect((await call("POST", "/internal/v1/introspect", undefined, form({ token }), { ...FORM, ...basic(INTROSPECTION.id, "wrong") })).status).toBe(401);
    const ok = await call("POST", "/internal/v1/introspect", undefined, form({ token }), { ...FORM, ...basic(INTROSPECTION.id, INTROSPECTION.secret) });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect(await ok.json()).toMatchObject({
      active: true,
      sub: alice.subject,
      username: "alice",
      client_id: "altgate-api-token",
      token_type: "api-token",
      scope: "openid",
      realm_access: { roles: ["model:read", "model:invoke"] },
    });
    const typo = `${token.slice(0, -1)}${token.endsWith("a") ? "b" : "a"}`;
    const inactive = await call("POST", "/internal/v1/introspect", undefined, form({ token: typo }), { ...FORM, ...basic(INTROSPECTION.id, INTROSPECTION.secret) });
    expect(await inactive.json()).toEqual({ active: false });
    const missing = await call("POST", "/internal/v1/introspect", undefined, form({}), { ...FORM, ...basic(INTROSPECTION.id, INTROSPECTION.secret) });
    expect(missing.status).toBe(400);
  });

  it("GET /internal/v1/revocations serves the feed with a cursor, 304 when unchanged, then the delta", async () => {
    const first = await call("GET", "/internal/v1/revocations");
    expect(first.status).toBe(200);
    const { cursor } = (await first.json()) as { cursor: string };
    const unchanged = await call("GET", `/internal/v1/revocations?since=${encodeURIComponent(cursor)}`);
    expect(unchanged.status).toBe(304);
    expect(await unchanged.text()).toBe("");
    const t = await createToken(alice, { name: "feed me", roles: ["model:read"] });
    await call("DELETE", `/v1/tokens/${t.id}`, alice);
    await waitForKey(feed, hashToken(t.token));
    const delta = await call("GET", `/internal/v1/revocations?since=${encodeURIComponent(cursor)}`);
    expect(delta.status).toBe(200);
    const body = (await delta.json()) as { cursor: string; revoked: { key: string; exp: number }[] };
    expect(body.revoked).toEqual([{ key: hashToken(t.token), exp: expect.any(Number) }]);
    expect(body.cursor).not.toBe(cursor);
  });
});

describe("POST /v1/revoke (RFC 7009)", { timeout: 30_000 }, () => {
  const nowS = () => Math.floor(Date.now() / 1000);

  it("records the caller's own Keycloak access token and revokes it at Keycloak for its client", async () => {
    keycloakCalls.length = 0;
    const jwt = fakeJwt({ sub: alice.subject, jti: "kc-own-1", exp: nowS() + 300, azp: "altgate-cli" });
    const res = await call("POST", "/v1/revoke", alice, form({ token: jwt, token_type_hint: "access_token" }), FORM);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ revoked: true, kind: "oidc", newly_recorded: true, keycloak: { ok: true, status: 200 } });
    await waitForKey(feed, "kc-own-1");
    expect(keycloakCalls).toHaveLength(1);
    expect(keycloakCalls[0]!.authorization).toBeUndefined();
    expect(Object.fromEntries(keycloakCalls[0]!.body)).toEqual({ token: jwt, token_type_hint: "access_token", client_id: "altgate-cli" });
  });

  it("authenticates as a confidential client when its secret is configured", async () => {
    keycloakCalls.length = 0;
    const jwt = fakeJwt({ sub: alice.subject, jti: "kc-machine-1", exp: nowS() + 300, azp: "altgate-machine" });
    expect((await call("POST", "/v1/revoke", alice, form({ token: jwt }), FORM)).status).toBe(200);
    expect(keycloakCalls[0]!.authorization).toBe(`Basic ${Buffer.from("altgate-machine:machine-dev-secret").toString("base64")}`);
    expect(keycloakCalls[0]!.body.get("client_id")).toBeNull();
  });

  it("refuses another user's token unless the caller is model:admin, and records nothing then", async () => {
    keycloakCalls.length = 0;
    const jwt = fakeJwt({ sub: bob.subject, jti: "kc-bobs", exp: nowS() + 300, azp: "altgate-cli" });
    const res = await call("POST", "/v1/revoke", alice, form({ token: jwt }), FORM);
    expect(res.status).toBe(403);
    expect(keys(feed)).not.toContain("kc-bobs");
    expect(keycloakCalls).toHaveLength(0);
    expect((await call("POST", "/v1/revoke", olivia, form({ token: jwt }), FORM)).status).toBe(200);
    await waitForKey(feed, "kc-bobs");
  });

  it("revokes an API token presented by whoever holds it", async () => {
    const t = await createToken(alice, { name: "leaked", roles: ["model:read"] });
    const res = await call("POST", "/v1/revoke", bob, form({ token: t.token }), FORM);
    expect(await res.json()).toEqual({ revoked: true, kind: "api-token" });
    await waitForKey(feed, hashToken(t.token));
  });

  it("answers 200 for invalid or expired tokens (RFC 7009 2.2) and 400 without a token", async () => {
    keycloakCalls.length = 0;
    for (const token of ["not-a-jwt", fakeJwt({ sub: alice.subject }), fakeJwt({ sub: alice.subject, jti: "kc-old", exp: nowS() - 10, azp: "altgate-cli" })]) {
      const res = await call("POST", "/v1/revoke", alice, form({ token }), FORM);
      expect(res.status).toBe(200);
    }
    expect(keycloakCalls).toHaveLength(0);
    expect(keys(feed)).not.toContain("kc-old");
    expect((await call("POST", "/v1/revoke", alice, form({}), FORM)).status).toBe(400);
    expect((await call("POST", "/v1/revoke", alice, { token: "x" })).status).toBe(400);
  });
});

describe("database down", { timeout: 30_000 }, () => {
  it("answers 503 with Retry-After on the database routes, while the feed keeps answering from memory", async () => {
    await pgServer.stop();
    for (const [method, path, who, body, headers] of [
      ["GET", "/v1/tokens", alice, undefined, {}],
      ["POST", "/v1/tokens", alice, { name: "x", roles: ["model:read"] }, {}],
      ["POST", "/internal/v1/introspect", undefined, form({ token: generateToken() }), { ...FORM, ...basic(INTROSPECTION.id, INTROSPECTION.secret) }],
    ] as const) {
      const res = await call(method, path, who, body, headers);
      expect(res.status, path).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(await res.json()).toMatchObject({ error: "temporarily_unavailable" });
    }
    expect((await call("GET", "/internal/v1/revocations")).status).toBe(200);
    const ready = await app.request("/readyz");
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { database: string } }).checks.database).not.toBe("ok");
  });
});
