import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { migrate, type Database } from "../../src/db/index.ts";
import { TokenConflictError, TokenNotFoundError, TokenValidationError } from "../../src/tokens/errors.ts";
import { generateToken, hashToken } from "../../src/tokens/format.ts";
import { TokenService, type Owner } from "../../src/tokens/service.ts";
import { startTestPostgres, type TestPostgres } from "./pg-fixture.ts";

const DAY = 86400;
const alice: Owner = { subject: "0c7a2f7e-alice", username: "alice", roles: ["model:read", "model:invoke", "token:manage"], scopes: ["openid", "profile"] };
const bob: Owner = { subject: "5d1e9b3c-bob", username: "bob", roles: ["model:read"], scopes: [] };
const olivia: Owner = { subject: "9f0e4d2a-olivia", username: "olivia", roles: ["model:read", "model:invoke", "token:manage", "model:admin"] };

let pgServer: TestPostgres;
let database: Database;
let service: TokenService;
let clock = Date.parse("2030-01-01T00:00:00Z");
const now = () => clock;

beforeAll(async () => {
  pgServer = await startTestPostgres();
  database = await pgServer.database();
  service = new TokenService(database, { maxLifetimeS: 90 * DAY, maxActiveTokensPerOwner: 5, lastUsedFlushMs: 3_600_000, now });
}, 60_000);

afterAll(async () => {
  await service?.close();
  await pgServer?.dispose();
});

async function fresh(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: pgServer.url });
  await client.connect();
  return client;
}

async function expectError<T extends Error>(p: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  return err as T;
}

describe("migrations", { timeout: 30_000 }, () => {
  it("apply once, even when several replicas start at the same moment", async () => {
    const replicas = await Promise.all([1, 2, 3].map(() => pgServer.database()));
    await Promise.all(replicas.map((r) => migrate(r)));
    const { rows } = await database.pool.query("select count(*)::int as n from drizzle.__drizzle_migrations");
    expect(rows[0].n).toBe(1);
    const tables = await database.pool.query("select table_name from information_schema.tables where table_schema = 'public' order by 1");
    expect(tables.rows.map((r) => r.table_name)).toEqual(["api_tokens", "feed_epoch", "revocations"]);
  });
});

describe("creating and listing", { timeout: 30_000 }, () => {
  it("returns the plaintext once and stores only its SHA-256", async () => {
    const { token, record } = await service.create(alice, { name: "laptop", lifetime_s: 7 * DAY, roles: ["model:read"] });
    expect(token).toMatch(/^agt_/);
    expect(record).toMatchObject({
      name: "laptop",
      owner_subject: alice.subject,
      owner_username: "alice",
      roles: ["model:read"],
      scopes: [],
      status: "active",
      display: `agt_…${token.slice(-4)}`,
      expires_at: new Date(clock + 7 * DAY * 1000).toISOString(),
      last_used_at: null,
      revoked_at: null,
    });
    const db = await fresh();
    try {
      const { rows } = await db.query("select * from api_tokens where id = $1", [record.id]);
      expect(rows[0].token_hash).toBe(hashToken(token));
      expect(JSON.stringify(rows[0])).not.toContain(token.slice(4, 40));
    } finally {
      await db.end();
    }
    const listed = await service.list(alice);
    const mine = listed.find((t) => t.id === record.id)!;
    expect(mine).toEqual(record);
    expect(JSON.stringify(listed)).not.toContain(token);
    expect(Object.keys(mine)).not.toContain("token_hash");
  });

  it("defaults the lifetime and refuses one above the maximum, naming lifetime_s", async () => {
    const { record } = await service.create(alice, { name: "default", roles: ["model:read"] });
    expect(Date.parse(record.expires_at) - clock).toBe(30 * DAY * 1000);
    const err = await expectError(service.create(alice, { name: "too long", lifetime_s: 91 * DAY, roles: ["model:read"] }), TokenValidationError);
    expect(err.field).toBe("lifetime_s");
    await expectError(service.create(alice, { name: "zero", lifetime_s: 0, roles: ["model:read"] }), TokenValidationError);
    await expectError(service.create(alice, { name: "fraction", lifetime_s: 1.5, roles: ["model:read"] }), TokenValidationError);
  });

  it("refuses roles and scopes the owner does not hold, naming them", async () => {
    const err = await expectError(service.create(bob, { name: "escalate", roles: ["model:read", "model:admin", "model:invoke"] }), TokenValidationError);
    expect(err.field).toBe("roles");
    expect(err.message).toContain('"model:admin"');
    expect(err.message).toContain('"model:invoke"');
    expect(err.message).not.toContain('"model:read"');
    const scopeErr = await expectError(service.create(alice, { name: "s", roles: ["model:read"], scopes: ["email"] }), TokenValidationError);
    expect(scopeErr.field).toBe("scopes");
    expect(scopeErr.message).toContain('"email"');
    expect((await expectError(service.create(alice, { name: "none", roles: [] }), TokenValidationError)).field).toBe("roles");
    expect((await expectError(service.create(alice, { name: " ", roles: ["model:read"] }), TokenValidationError)).field).toBe("name");
    expect((await expectError(service.create(alice, { name: "a\u0000b", roles: ["model:read"] }), TokenValidationError)).field).toBe("name");
  });

  it("limits the active tokens per owner, also under concurrent creation", async () => {
    const carol: Owner = { subject: "carol-sub", username: "carol", roles: ["model:read"] };
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => service.create(carol, { name: `t${i}`, roles: ["model:read"] })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(5);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(TokenConflictError);
    const first = (await service.list(carol))[0]!;
    await service.revoke(carol, first.id);
    await service.create(carol, { name: "after revoking one", roles: ["model:read"] });
  });
});

describe("ownership", { timeout: 30_000 }, () => {
  it("hides other users' tokens: renew and revoke answer not found, lists never show them", async () => {
    const { record } = await service.create(alice, { name: "alice only", roles: ["model:read"] });
    expect((await service.list(bob)).map((t) => t.id)).not.toContain(record.id);
    await expectError(service.revoke(bob, record.id), TokenNotFoundError);
    await expectError(service.renew(bob, record.id, { lifetime_s: DAY }), TokenNotFoundError);
    await expectError(service.revoke(bob, "00000000-0000-4000-8000-000000000000"), TokenNotFoundError);
    await expectError(service.revoke(bob, "not-a-uuid"), TokenNotFoundError);
    expect((await service.list(alice)).find((t) => t.id === record.id)?.status).toBe("active");
  });

  it("lets an admin list any user's tokens by subject or username and revoke them", async () => {
    const { record, token } = await service.create(alice, { name: "for the admin", roles: ["model:read"] });
    expect((await service.adminList({ owner: "alice" })).map((t) => t.id)).toContain(record.id);
    expect((await service.adminList({ owner: alice.subject })).map((t) => t.id)).toContain(record.id);
    expect((await service.adminList({ owner: "bob" })).map((t) => t.id)).not.toContain(record.id);
    const revoked = await service.adminRevoke(olivia, record.id);
    expect(revoked).toMatchObject({ status: "revoked", revoked_by: olivia.subject });
    expect(await service.introspect(token)).toEqual({ active: false });
  });
});

describe("renewing", { timeout: 30_000 }, () => {
  it("moves the expiry to now + lifetime and keeps the same secret", async () => {
    const { token, record } = await service.create(alice, { name: "renew me", lifetime_s: 60, roles: ["model:read"] });
    clock += 30_000;
    const renewed = await service.renew(alice, record.id, { lifetime_s: 10 * DAY });
    expect(renewed.expires_at).toBe(new Date(clock + 10 * DAY * 1000).toISOString());
    const answer = await service.introspect(token);
    expect(answer).toMatchObject({ active: true, jti: record.id, exp: Math.floor((clock + 10 * DAY * 1000) / 1000) });
  });

  it("refuses revoked and expired tokens with a conflict", async () => {
    const a = await service.create(alice, { name: "to revoke", lifetime_s: 60, roles: ["model:read"] });
    await service.revoke(alice, a.record.id);
    expect((await expectError(service.renew(alice, a.record.id), TokenConflictError)).code).toBe("token_not_renewable");
    const b = await service.create(alice, { name: "to expire", lifetime_s: 60, roles: ["model:read"] });
    clock += 61_000;
    expect((await expectError(service.renew(alice, b.record.id), TokenConflictError)).message).toContain("expired");
  });
});

describe("revoking", { timeout: 30_000 }, () => {
  it("marks the token, records its hash and expiry in the feed table in one transaction, once", async () => {
    const { token, record } = await service.create(alice, { name: "revoke me", lifetime_s: 3600, roles: ["model:read"] });
    const revoked = await service.revoke(alice, record.id);
    expect(revoked).toMatchObject({ status: "revoked", revoked_by: alice.subject });
    const again = await service.revoke(alice, record.id);
    expect(again.revoked_at).toBe(revoked.revoked_at);
    const db = await fresh();
    try {
      const { rows } = await db.query("select key, kind, exp from revocations where key = $1", [hashToken(token)]);
      expect(rows).toEqual([{ key: hashToken(token), kind: "api-token", exp: String(Math.floor(Date.parse(record.expires_at) / 1000)) }]);
    } finally {
      await db.end();
    }
  });

  it("is durable: a new connection, as after a server restart, sees the revocation", async () => {
    const other = await pgServer.database();
    const replica = new TokenService(other, { maxLifetimeS: 90 * DAY, now });
    const { token, record } = await service.create(alice, { name: "durable", roles: ["model:read"] });
    await service.revoke(alice, record.id);
    try {
      expect(await replica.introspect(token)).toEqual({ active: false });
      expect((await replica.list(alice)).find((t) => t.id === record.id)?.status).toBe("revoked");
    } finally {
      await replica.close();
    }
  });

  it("revokes an API token by its plaintext (RFC 7009: holding it is the authority)", async () => {
    const { token } = await service.create(alice, { name: "leaked", roles: ["model:read"] });
    expect(await service.revokeByToken(token, bob.subject)).toMatchObject({ status: "revoked", revoked_by: bob.subject });
    expect(await service.revokeByToken(generateToken(), bob.subject)).toBeUndefined();
    expect(await service.revokeByToken("agt_garbage", bob.subject)).toBeUndefined();
  });

  it("records Keycloak access-token ids once, caps their expiry and skips expired ones", async () => {
    const nowS = Math.floor(clock / 1000);
    expect(await service.recordOidcRevocation("kc-jti-1", nowS + 300)).toBe(true);
    expect(await service.recordOidcRevocation("kc-jti-1", nowS + 300)).toBe(false);
    expect(await service.recordOidcRevocation("kc-jti-2", nowS - 1)).toBe(false);
    expect(await service.recordOidcRevocation("kc-jti-3", nowS + 10 * 365 * DAY)).toBe(true);
    const { rows } = await database.pool.query("select key, kind, exp::int from revocations where kind = 'oidc' order by seq");
    expect(rows).toEqual([
      { key: "kc-jti-1", kind: "oidc", exp: nowS + 300 },
      { key: "kc-jti-3", kind: "oidc", exp: nowS + DAY },
    ]);
    expect((await expectError(service.recordOidcRevocation("a".repeat(64), nowS + 60), TokenValidationError)).field).toBe("jti");
    expect((await expectError(service.recordOidcRevocation("", nowS + 60), TokenValidationError)).field).toBe("jti");
  });
});

describe("introspection", { timeout: 30_000 }, () => {
  it("answers RFC 7662 for an active token, and inactive for expired, revoked and unknown ones", async () => {
    const created = clock;
    const { token, record } = await service.create(alice, { name: "ci", lifetime_s: 120, roles: ["model:read", "model:invoke"], scopes: ["openid"] });
    expect(await service.introspect(token)).toEqual({
      active: true,
      sub: alice.subject,
      username: "alice",
      client_id: "altgate-api-token",
      token_type: "api-token",
      exp: Math.floor(created / 1000) + 120,
      iat: Math.floor(created / 1000),
      jti: record.id,
      scope: "openid",
      realm_access: { roles: ["model:read", "model:invoke"] },
    });
    expect(await service.introspect(generateToken())).toEqual({ active: false });
    clock += 121_000;
    expect(await service.introspect(token)).toEqual({ active: false });
    const live = await service.create(alice, { name: "then revoked", roles: ["model:read"] });
    expect((await service.introspect(live.token)).active).toBe(true);
    await service.revoke(alice, live.record.id);
    expect(await service.introspect(live.token)).toEqual({ active: false });
  });

  it("answers a mistyped or malformed token without touching the database", async () => {
    const { token } = await service.create(alice, { name: "typo", roles: ["model:read"] });
    const spy = vi.spyOn(database.pool, "query");
    try {
      const typo = token.slice(0, 20) + (token[20] === "a" ? "b" : "a") + token.slice(21);
      expect(await service.introspect(typo)).toEqual({ active: false });
      expect(await service.introspect("agt_short")).toEqual({ active: false });
      expect(await service.introspect("eyJhbGciOi.e30.x")).toEqual({ active: false });
      expect(spy).not.toHaveBeenCalled();
      await service.introspect(generateToken());
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});

describe("last-used times", { timeout: 30_000 }, () => {
  const dave: Owner = { subject: "dave-sub", username: "dave", roles: ["model:read"] };
  const erin: Owner = { subject: "erin-sub", username: "erin", roles: ["model:read"] };
  it("are written in one UPDATE per flush, whatever the number of uses", async () => {
    const tokens = await Promise.all([1, 2, 3].map((i) => service.create(dave, { name: `used ${i}`, roles: ["model:read"] })));
    const idle = await service.create(dave, { name: "idle", roles: ["model:read"] });
    await service.lastUsed.flush();
    const spy = vi.spyOn(database.pool, "query");
    try {
      const start = clock;
      for (let i = 0; i < 300; i++) {
        clock = start + i * 10;
        await service.introspect(tokens[i % 3]!.token);
      }
      const writes = () => spy.mock.calls.filter(([q]) => /update/i.test(typeof q === "string" ? q : String((q as { text?: string }).text)));
      expect(writes()).toHaveLength(0);
      expect(service.lastUsed.size).toBe(3);
      await service.lastUsed.flush();
      expect(writes()).toHaveLength(1);
      expect(service.lastUsed.size).toBe(0);
      const listed = await service.list(dave);
      const at = (id: string) => listed.find((t) => t.id === id)?.last_used_at;
      // Each token's last use in the loop: i = 297, 298, 299.
      for (let k = 0; k < 3; k++) expect(at(tokens[k]!.record.id)).toBe(new Date(start + (297 + k) * 10).toISOString());
      expect(at(idle.record.id)).toBeNull();
    } finally {
      spy.mockRestore();
    }
  });

  it("keep what a failed flush could not write for the next one", async () => {
    const { token, record } = await service.create(erin, { name: "flaky", roles: ["model:read"] });
    await service.introspect(token);
    const spy = vi.spyOn(database.pool, "query").mockRejectedValueOnce(new Error("boom") as never);
    await expect(service.lastUsed.flush()).rejects.toThrow("boom");
    spy.mockRestore();
    expect(service.lastUsed.size).toBe(1);
    await service.lastUsed.flush();
    expect((await service.list(erin)).find((t) => t.id === record.id)?.last_used_at).toBe(new Date(clock).toISOString());
  });
});
