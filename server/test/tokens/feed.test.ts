import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/index.ts";
import { RevocationFeed } from "../../src/tokens/feed.ts";
import { hashToken } from "../../src/tokens/format.ts";
import { TokenService, type Owner } from "../../src/tokens/service.ts";
import { keys, once, summary, waitForKey } from "./feed-helpers.ts";
import { startTestPostgres, type TestPostgres } from "./pg-fixture.ts";

const owner: Owner = { subject: "feed-owner", username: "fiona", roles: ["model:read"] };

// Two server replicas on one database: each has its own pool, service and feed.
let pgServer: TestPostgres;
let dbA: Database;
let dbB: Database;
let serviceA: TokenService;
let serviceB: TokenService;
let feedA: RevocationFeed;
let feedB: RevocationFeed;
let preexisting: string;

async function revokeNew(service: TokenService, name = "t"): Promise<{ key: string; elapsedMs: number }> {
  const { token, record } = await service.create(owner, { name, lifetime_s: 3600, roles: ["model:read"] });
  const start = performance.now();
  await service.revoke(owner, record.id);
  return { key: hashToken(token), elapsedMs: performance.now() - start };
}

beforeAll(async () => {
  pgServer = await startTestPostgres();
  [dbA, dbB] = await Promise.all([pgServer.database(), pgServer.database()]);
  const config = { maxLifetimeS: 86400, maxActiveTokensPerOwner: 1000 };
  serviceA = new TokenService(dbA, config);
  serviceB = new TokenService(dbB, config);
  preexisting = (await revokeNew(serviceA, "before the feeds started")).key;
  // Revoked long ago: in the table, never in a feed.
  await serviceA.recordOidcRevocation("already-expired", Math.floor(Date.now() / 1000) + 1);
  await dbA.pool.query("update revocations set exp = 1 where key = 'already-expired'");
  // A longer first backoff keeps the feeds away long enough for the reconnect test to commit meanwhile.
  feedA = new RevocationFeed({ connectionString: pgServer.url, minBackoffMs: 400 });
  feedB = new RevocationFeed({ connectionString: pgServer.url, minBackoffMs: 400 });
  await Promise.all([feedA.start(), feedB.start()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([feedA?.stop(), feedB?.stop()]);
  await Promise.all([serviceA?.close(), serviceB?.close()]);
  await pgServer?.dispose();
});

describe("revocation feed", { timeout: 30_000 }, () => {
  it("loads the active revocations at start, not the expired ones", () => {
    expect(keys(feedA)).toContain(preexisting);
    expect(keys(feedA)).not.toContain("already-expired");
    expect(feedA.status()).toMatchObject({ ready: true, connected: true, entries: 1 });
  });

  it("answers 503 before its first load rather than an empty set", () => {
    expect(new RevocationFeed({ connectionString: pgServer.url }).read(undefined)).toEqual({ status: 503 });
  });

  it("carries a revocation made through one replica to the other within a second (50 revocations)", async () => {
    const endToEnd: number[] = [];
    const afterCommit: number[] = [];
    for (let i = 0; i < 50; i++) {
      const { token, record } = await serviceA.create(owner, { name: `latency ${i}`, roles: ["model:read"] });
      const start = performance.now();
      const seen = waitForKey(feedB, hashToken(token), 1000);
      await serviceA.revoke(owner, record.id);
      const committed = performance.now();
      await seen;
      const end = performance.now();
      endToEnd.push(end - start);
      afterCommit.push(end - committed);
    }
    const e2e = summary(endToEnd);
    const post = summary(afterCommit);
    console.log(`feed propagation A→B, revoke call start → served by B: ${JSON.stringify(e2e)} ms`);
    console.log(`feed propagation A→B, revoke committed → served by B: ${JSON.stringify(post)} ms`);
    expect(e2e.max).toBeLessThan(1000);
  });

  it("gives the same cursor on every replica, 304 when nothing changed, and deltas after it", async () => {
    const { key } = await revokeNew(serviceB);
    await Promise.all([waitForKey(feedA, key), waitForKey(feedB, key)]);
    const a = feedA.read(undefined);
    const b = feedB.read(undefined);
    if (a.status !== 200 || b.status !== 200) throw new Error("feeds not ready");
    expect(a.body.cursor).toBe(b.body.cursor);
    expect(a.body.cursor).toMatch(/^[0-9a-f]{12}\.\d+$/);
    expect(a.body.revoked).toEqual(b.body.revoked);
    expect(feedA.read(a.body.cursor)).toEqual({ status: 304 });
    expect(feedB.read(a.body.cursor)).toEqual({ status: 304 });

    const next = await revokeNew(serviceA);
    await waitForKey(feedB, next.key);
    const delta = feedB.read(a.body.cursor);
    if (delta.status !== 200) throw new Error("expected a delta");
    expect(delta.body.revoked.map((e) => e.key)).toEqual([next.key]);
    expect(delta.body.revoked[0]!.exp).toBeGreaterThan(Date.now() / 1000);

    const [epoch, seq] = delta.body.cursor.split(".");
    // A cursor from a replica that is ahead of this one: the caller already has everything here.
    expect(feedB.read(`${epoch}.${Number(seq) + 5}`)).toEqual({ status: 304 });
    // Unknown or foreign cursors get the full set.
    for (const since of ["garbage", "", `000000000000.${seq}`, `${epoch}`]) {
      const full = feedB.read(since);
      expect(full.status).toBe(200);
      if (full.status === 200) expect(full.body.revoked).toHaveLength(feedB.status().entries);
    }
  });

  it("misses nothing for a poller alternating between replicas during 50 concurrent revocations", async () => {
    const created = await Promise.all(
      Array.from({ length: 50 }, (_, i) => serviceA.create(owner, { name: `burst ${i}`, roles: ["model:read"] })),
    );
    const wanted = created.map((c) => hashToken(c.token));
    // The poller is what a proxy does: merge every 200, keep the cursor, alternate replicas.
    const known = new Set<string>(keys(feedA));
    let cursor = (feedA.read(undefined) as { body: { cursor: string } }).body.cursor;
    let polls = 0;
    let revoking = true;
    const deadline = Date.now() + 5000;
    const poller = (async () => {
      while ((revoking || wanted.some((k) => !known.has(k))) && Date.now() < deadline) {
        const feed = polls++ % 2 === 0 ? feedA : feedB;
        const r = feed.read(cursor);
        if (r.status === 200) {
          for (const e of r.body.revoked) known.add(e.key);
          cursor = r.body.cursor;
        }
        await new Promise((res) => setTimeout(res, 2));
      }
    })();
    await Promise.all(created.map((c, i) => (i % 2 === 0 ? serviceA : serviceB).revoke(owner, c.record.id)));
    revoking = false;
    await poller;
    expect(wanted.filter((k) => !known.has(k))).toEqual([]);
    const seqs = (await dbA.pool.query("select seq from revocations order by seq")).rows.map((r) => Number(r.seq));
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it("drops entries once they expire, without moving the cursor", async () => {
    let offsetMs = 0;
    const feedC = new RevocationFeed({ connectionString: pgServer.url, now: () => Date.now() + offsetMs });
    await feedC.start();
    try {
      const nowS = Math.floor(Date.now() / 1000);
      await serviceA.recordOidcRevocation("short-lived-jti", nowS + 30);
      await waitForKey(feedC, "short-lived-jti");
      const before = feedC.read(undefined);
      if (before.status !== 200) throw new Error("not ready");
      expect(before.body.revoked).toContainEqual({ key: "short-lived-jti", exp: nowS + 30 });
      offsetMs = 31_000;
      const after = feedC.read(undefined);
      if (after.status !== 200) throw new Error("not ready");
      expect(after.body.revoked.map((e) => e.key)).not.toContain("short-lived-jti");
      expect(after.body.cursor).toBe(before.body.cursor);
      expect(feedC.read(before.body.cursor)).toEqual({ status: 304 });
    } finally {
      await feedC.stop();
    }
  });

  it("reconnects by itself when its connection is killed and picks up what was committed meanwhile", async () => {
    const down = Promise.all([once(feedA, "disconnected"), once(feedB, "disconnected")]);
    const up = Promise.all([once(feedA, "connected"), once(feedB, "connected")]);
    const { rows } = await dbA.pool.query(
      "select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = 'altgate-revocation-feed'",
    );
    expect(rows).toHaveLength(2);
    await down;
    expect(feedA.status().connected).toBe(false);
    // Committed while no feed listens: only the reload after reconnecting can find it.
    const { key } = await revokeNew(serviceA, "while the feeds were away");
    expect(keys(feedB)).not.toContain(key);
    await up;
    expect(keys(feedA)).toContain(key);
    expect(keys(feedB)).toContain(key);
    expect(feedB.status()).toMatchObject({ connected: true, lastError: undefined });
  });
});
