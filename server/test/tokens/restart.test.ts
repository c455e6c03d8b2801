import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseUnavailableError, type Database } from "../../src/db/index.ts";
import { RevocationFeed } from "../../src/tokens/feed.ts";
import { hashToken } from "../../src/tokens/format.ts";
import { TokenService, type Owner } from "../../src/tokens/service.ts";
import { keys, once, summary, waitForKey } from "./feed-helpers.ts";
import { startTestPostgres, type TestPostgres } from "./pg-fixture.ts";

const owner: Owner = { subject: "restart-owner", username: "rita", roles: ["model:read"] };

let pgServer: TestPostgres;
let dbA: Database;
let dbB: Database;
let serviceA: TokenService;
let serviceB: TokenService;
let feedA: RevocationFeed;
let feedB: RevocationFeed;

beforeAll(async () => {
  pgServer = await startTestPostgres();
  [dbA, dbB] = await Promise.all([pgServer.database(), pgServer.database()]);
  serviceA = new TokenService(dbA, { maxLifetimeS: 86400, maxActiveTokensPerOwner: 1000 });
  serviceB = new TokenService(dbB, { maxLifetimeS: 86400, maxActiveTokensPerOwner: 1000 });
  feedA = new RevocationFeed({ connectionString: pgServer.url });
  feedB = new RevocationFeed({ connectionString: pgServer.url });
  await Promise.all([feedA.start(), feedB.start()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([feedA?.stop(), feedB?.stop()]);
  await Promise.all([serviceA?.close(), serviceB?.close()]);
  await pgServer?.dispose();
});

const newToken = (service: TokenService, name: string) => service.create(owner, { name, roles: ["model:read"] });

async function failure(p: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const start = performance.now();
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: performance.now() - start };
}

describe("PostgreSQL going away and coming back", () => {
  it("under load: fails fast with DatabaseUnavailableError while down, feeds keep serving, all recovers by itself, nothing lost", async () => {
    const revokedBefore = await newToken(serviceA, "revoked before the outage");
    await serviceA.revoke(owner, revokedBefore.record.id);
    const live = await newToken(serviceA, "live");
    const toRevokeAfter = await newToken(serviceA, "revoked after the outage");
    await Promise.all([waitForKey(feedA, hashToken(revokedBefore.token)), waitForKey(feedB, hashToken(revokedBefore.token))]);

    // Load: introspections on both replicas, as the filter would send them.
    const outcomes: { at: number; kind: "ok" | "unavailable" | "other"; ms: number; detail?: string }[] = [];
    let loading = true;
    const load = Promise.all(
      [serviceA, serviceB].map(async (service) => {
        while (loading) {
          const start = performance.now();
          try {
            const answer = await service.introspect(live.token);
            outcomes.push({ at: start, kind: answer.active ? "ok" : "other", ms: performance.now() - start, detail: "inactive" });
          } catch (err) {
            const kind = err instanceof DatabaseUnavailableError ? "unavailable" : "other";
            outcomes.push({ at: start, kind, ms: performance.now() - start, detail: (err as Error).message });
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 300));

    const feedsDown = Promise.all([once(feedA, "disconnected"), once(feedB, "disconnected")]);
    const stoppedAt = performance.now();
    await pgServer.stop();
    await feedsDown;
    await new Promise((r) => setTimeout(r, 1000));

    // Every kind of operation fails the same recognisable way, quickly.
    for (const op of [
      () => serviceA.create(owner, { name: "during outage", roles: ["model:read"] }),
      () => serviceB.revoke(owner, toRevokeAfter.record.id),
      () => serviceA.list(owner),
      () => serviceB.recordOidcRevocation("jti-during-outage", Math.floor(Date.now() / 1000) + 60),
    ]) {
      const { error, ms } = await failure(op());
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect((error as Error).message).toMatch(/^database unavailable: /);
      expect(ms).toBeLessThan(2500);
    }
    // The feeds answer from memory: a proxy starting now still gets the revoked set.
    expect(feedA.status().connected).toBe(false);
    expect(keys(feedA)).toContain(hashToken(revokedBefore.token));
    expect(keys(feedB)).toContain(hashToken(revokedBefore.token));

    const feedsUp = Promise.all([once(feedA, "connected"), once(feedB, "connected")]);
    const startedAt = performance.now();
    await pgServer.start();
    const acceptingAt = performance.now();
    await feedsUp;
    const feedsBackAt = performance.now();

    const propagation = performance.now();
    await serviceB.revoke(owner, toRevokeAfter.record.id);
    await waitForKey(feedA, hashToken(toRevokeAfter.token), 1000);
    const propagationMs = performance.now() - propagation;
    await new Promise((r) => setTimeout(r, 300));
    loading = false;
    await load;

    expect(outcomes.filter((o) => o.kind === "other")).toEqual([]);
    const down = outcomes.filter((o) => o.kind === "unavailable");
    expect(down.length).toBeGreaterThan(0);
    const firstOkAfter = outcomes.find((o) => o.kind === "ok" && o.at > startedAt);
    expect(firstOkAfter).toBeDefined();
    expect(await serviceA.introspect(revokedBefore.token)).toEqual({ active: false });
    expect(await serviceA.introspect(toRevokeAfter.token)).toEqual({ active: false });
    expect((await serviceB.introspect(live.token)).active).toBe(true);
    for (const feed of [feedA, feedB]) {
      expect(keys(feed)).toEqual(expect.arrayContaining([hashToken(revokedBefore.token), hashToken(toRevokeAfter.token)]));
    }

    console.log(
      `outage: ${outcomes.length} introspections, ${down.length} DatabaseUnavailableError (latency ${JSON.stringify(summary(down.map((o) => o.ms)))} ms); ` +
        `postgres down ${Math.round(startedAt - stoppedAt)} ms; after the restart began: accepting (our probe) +${Math.round(acceptingAt - startedAt)} ms, ` +
        `first successful introspection +${Math.round(firstOkAfter!.at + firstOkAfter!.ms - startedAt)} ms, ` +
        `both feeds reconnected +${Math.round(feedsBackAt - startedAt)} ms; first revocation after restart reached the other replica's feed in ${Math.round(propagationMs)} ms`,
    );
  }, 60_000);

  it("SIGKILL of PostgreSQL right after a revoke: still revoked after crash recovery, in the table and in every feed", async () => {
    const { token, record } = await newToken(serviceA, "revoked then crash");
    await serviceA.revoke(owner, record.id);
    await pgServer.kill();
    const feedsUp = Promise.all([once(feedA, "connected"), once(feedB, "connected")]);
    await pgServer.start();
    await feedsUp;
    expect(await serviceB.introspect(token)).toEqual({ active: false });
    expect((await serviceB.list(owner)).find((t) => t.id === record.id)?.status).toBe("revoked");
    const fresh = new RevocationFeed({ connectionString: pgServer.url });
    await fresh.start();
    try {
      for (const feed of [feedA, feedB, fresh]) expect(keys(feed)).toContain(hashToken(token));
    } finally {
      await fresh.stop();
    }
  }, 60_000);
});
