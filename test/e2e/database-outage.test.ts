import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { startStack, type Stack } from "../harness/stack.ts";
import { startPostgres } from "../harness/components/postgres.ts";
import { startServer, type Server } from "../harness/components/server.ts";
import { sleep } from "../harness/processes.ts";

// A stack of its own: this file runs a second server replica on the same database, and stops and
// restarts PostgreSQL under load.
let stack: Stack;
let replica: Server;
let alice: string;

beforeAll(async () => {
  stack = await startStack();
  replica = await startServer(join(stack.runDir, "replica"), stack.serverEnv);
  const res = await fetch(stack.keycloak.tokenEndpoint, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "password", client_id: "altgate-cli", username: "alice", password: "alice-password" }),
  });
  alice = ((await res.json()) as { access_token: string }).access_token;
}, 300_000);

afterAll(async () => {
  await replica?.stop();
  await stack?.stop();
}, 60_000);

const auth = () => ({ authorization: `Bearer ${alice}`, "content-type": "application/json" });

async function createToken(name: string): Promise<{ id: string; token: string }> {
  const res = await fetch(`${stack.envoy.url}/v1/tokens`, { method: "POST", headers: auth(), body: JSON.stringify({ name, lifetime_s: 3600, roles: ["model:read"] }) });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string; token: string };
}

const whoamiStatus = async (token: string) => (await fetch(`${stack.envoy.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })).status;

describe("two server replicas on one database", () => {
  it("a revoke through one appears in the other's feed within a second", async () => {
    const t = await createToken("replica check");
    const key = createHash("sha256").update(t.token).digest("hex");
    const feed = async () => (await (await fetch(`${replica.url}/internal/v1/revocations`)).json()) as { revoked: { key: string }[] };
    expect((await feed()).revoked.map((r) => r.key)).not.toContain(key);
    // Through Envoy, so through the stack's own server, not the replica.
    const revoked = await fetch(`${stack.envoy.url}/v1/tokens/${t.id}`, { method: "DELETE", headers: auth() });
    const at = Date.now();
    expect(revoked.status).toBe(200);
    while (!(await feed()).revoked.some((r) => r.key === key)) {
      expect(Date.now() - at, "the replica's feed never showed the revocation").toBeLessThan(1000);
      await sleep(10);
    }
    console.log(`revocation reached the other replica's feed after ${Date.now() - at} ms`);
  });
});

describe("PostgreSQL restarted under load", () => {
  it("the API answers 503 while it is down, recovers by itself, and loses no token or revocation", async () => {
    const kept = await createToken("kept");
    const gone = await createToken("revoked before the outage");
    expect((await fetch(`${stack.envoy.url}/v1/tokens/${gone.id}`, { method: "DELETE", headers: auth() })).status).toBe(200);
    await sleep(600);
    expect(await whoamiStatus(gone.token)).toBe(401);

    const port = Number(new URL(stack.postgres.url).port);
    await stack.postgres.stop();

    // Load while the database is down: every answer is 503 with Retry-After, never a 500.
    const statuses = new Map<number, number>();
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      const res = await fetch(`${stack.envoy.url}/v1/tokens`, { headers: auth() });
      if (res.status === 503) expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
    expect([...statuses.keys()]).toEqual([503]);
    // The revoked set lives in the gateway and in each replica's memory: still refused.
    expect(await whoamiStatus(gone.token)).toBe(401);
    expect((await fetch(`${stack.server.url}/readyz`)).status).toBe(503);

    stack.postgres = await startPostgres(stack.postgres.dataDir!, join(stack.runDir, "logs"), port);
    const back = Date.now();
    while ((await fetch(`${stack.envoy.url}/v1/tokens`, { headers: auth() })).status !== 200) {
      expect(Date.now() - back, "the API did not recover by itself").toBeLessThan(15_000);
      await sleep(100);
    }
    console.log(`API answered again ${Date.now() - back} ms after PostgreSQL was back`);
    const list = (await (await fetch(`${stack.envoy.url}/v1/tokens`, { headers: auth() })).json()) as { tokens: { id: string; status: string }[] };
    expect(list.tokens.find((x) => x.id === kept.id)?.status).toBe("active");
    expect(list.tokens.find((x) => x.id === gone.id)?.status).toBe("revoked");
    expect(await whoamiStatus(kept.token)).toBe(200);
    expect(await whoamiStatus(gone.token)).toBe(401);
    // And new work is durable again.
    const after = await createToken("after the outage");
    expect(await whoamiStatus(after.token)).toBe(200);
  }, 90_000);
});
