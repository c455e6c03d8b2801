/**
 * npm run bench:revocation — how long a revocation takes to reach the gateway: from the moment the
 * revoke call answers to the first request the filter refuses, through real Envoy (2 workers),
 * the real server and PostgreSQL, for personal API tokens (DELETE /v1/tokens/{id}) and Keycloak
 * access tokens (POST /v1/revoke). Every token is used first, so its introspection is cached and
 * only the revocation feed can stop it. Target: p99 ≤ 1 s.
 */
import { startStack } from "../harness/stack.ts";
import { sleep } from "../harness/processes.ts";

const API_TOKENS = Number(process.env.BENCH_API_TOKENS ?? 50);
const OIDC_TOKENS = Number(process.env.BENCH_OIDC_TOKENS ?? 10);
const LIMIT_MS = 5000;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main(): Promise<void> {
  const stack = await startStack();
  const entry = stack.envoy.url;
  let failed = false;
  try {
    const grant = async (user: string, password: string) => {
      const res = await fetch(stack.keycloak.tokenEndpoint, {
        method: "POST",
        body: new URLSearchParams({ grant_type: "password", client_id: "altgate-cli", username: user, password }),
      });
      if (!res.ok) throw new Error(`Keycloak refused a token: ${res.status}`);
      return ((await res.json()) as { access_token: string }).access_token;
    };
    const whoami = (token: string) => fetch(`${entry}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    const mustPass = async (token: string) => {
      const res = await whoami(token);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`a fresh token was refused (${res.status}): the measurement would be wrong`);
    };
    const untilRefused = async (token: string, since: number) => {
      while (Date.now() - since < LIMIT_MS) {
        const res = await whoami(token);
        await res.arrayBuffer();
        if (res.status === 401) return Date.now() - since;
        await sleep(5);
      }
      failed = true;
      return LIMIT_MS;
    };

    const alice = await grant("alice", "alice-password");
    const samples: { kind: string; ms: number }[] = [];
    for (let i = 0; i < API_TOKENS; i++) {
      const res = await fetch(`${entry}/v1/tokens`, {
        method: "POST",
        headers: { authorization: `Bearer ${alice}`, "content-type": "application/json" },
        body: JSON.stringify({ name: `bench ${i}`, lifetime_s: 3600, roles: ["model:read"] }),
      });
      if (res.status !== 201) throw new Error(`token creation failed: ${res.status} ${await res.text()}`);
      const t = (await res.json()) as { id: string; token: string };
      await mustPass(t.token);
      await mustPass(t.token);
      await sleep(Math.random() * 250);
      const revoke = await fetch(`${entry}/v1/tokens/${t.id}`, { method: "DELETE", headers: { authorization: `Bearer ${alice}` } });
      const at = Date.now();
      if (revoke.status !== 200) throw new Error(`revoke failed: ${revoke.status}`);
      samples.push({ kind: "api-token", ms: await untilRefused(t.token, at) });
      process.stderr.write(".");
    }
    for (let i = 0; i < OIDC_TOKENS; i++) {
      const token = await grant("bob", "bob-password");
      await mustPass(token);
      await mustPass(token);
      await sleep(Math.random() * 250);
      const revoke = await fetch(`${entry}/v1/revoke`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token }),
      });
      const at = Date.now();
      if (revoke.status !== 200) throw new Error(`/v1/revoke failed: ${revoke.status} ${await revoke.text()}`);
      samples.push({ kind: "oidc", ms: await untilRefused(token, at) });
      process.stderr.write("o");
    }
    process.stderr.write("\n");

    const rows = ["api-token", "oidc", "all"].map((kind) => {
      const ms = samples.filter((s) => kind === "all" || s.kind === kind).map((s) => s.ms).sort((a, b) => a - b);
      return { kind, n: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms.at(-1)! };
    });
    console.log("\nrevocation propagation: revoke answered -> first refusal at the gateway (feed poll_ms 250)\n");
    console.log("kind        n    p50 ms   p99 ms   max ms");
    for (const r of rows) console.log(`${r.kind.padEnd(10)} ${String(r.n).padStart(3)} ${String(r.p50).padStart(8)} ${String(r.p99).padStart(8)} ${String(r.max).padStart(8)}`);
    const all = rows.at(-1)!;
    console.log(`\ntarget p99 <= 1000 ms: ${all.p99 <= 1000 ? "PASS" : "MISS"} (${all.p99} ms)`);
  } finally {
    await stack.stop();
  }
  if (failed) {
    console.error(`MEASUREMENT INVALID: some revoked token was still accepted after ${LIMIT_MS} ms`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
