import { describe, it, expect, inject } from "vitest";
import { passwordGrant, clientCredentials, claims } from "./keycloak.ts";
import { introspectionCalls } from "./envoy-stats.ts";
import { sleep } from "../harness/processes.ts";

const stack = inject("stack");

const call = (path: string, token?: string, extra: Record<string, string> = {}) =>
  fetch(`${stack.entryUrl}${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra } });

async function denial(res: Response): Promise<{ status: number; error: string; description: string; challenge: string | null }> {
  const body = (await res.json()) as { error: string; error_description: string };
  return { status: res.status, error: body.error, description: body.error_description, challenge: res.headers.get("www-authenticate") };
}

describe("authentication at the filter (real Envoy, real Keycloak)", () => {
  it("refuses a malformed Authorization header with 401 invalid_request", async () => {
    for (const value of ["Bearer", "Bearer  ", "Bearer a b", "Token abc", "Bearer ab\u00e9"]) {
      const res = await fetch(`${stack.entryUrl}/v1/whoami`, { headers: { authorization: value } }).catch(() => undefined);
      // Node refuses to send a non-Latin-1 header at all; the others reach the filter.
      if (!res) continue;
      const d = await denial(res);
      expect([d.status, d.error], value).toEqual([401, "invalid_request"]);
    }
  });

  it("refuses an unknown string with 401 invalid_token after asking Keycloak", async () => {
    const before = await introspectionCalls(stack.envoyAdminUrl);
    const d = await denial(await call("/v1/whoami", `not-a-token-${Date.now()}`));
    expect([d.status, d.error]).toEqual([401, "invalid_token"]);
    expect(d.challenge).toMatch(/^Bearer realm="altgate", error="invalid_token"/);
    expect((await introspectionCalls(stack.envoyAdminUrl)) - before).toBe(1);
  });

  it("answers 403 insufficient_scope to a user without the route's role, naming the role", async () => {
    const carol = await passwordGrant("carol");
    const d = await denial(await call("/v1/models", carol));
    expect([d.status, d.error]).toEqual([403, "insufficient_scope"]);
    expect(d.description).toContain("model:read");
    // bob may read models but not invoke them.
    const bob = await passwordGrant("bob");
    const res = await fetch(`${stack.entryUrl}/v1/models/x/predict`, { method: "POST", headers: { authorization: `Bearer ${bob}` } });
    expect(res.status).toBe(403);
  });

  it("refuses an expired token with 401, also when it had been accepted and cached before", async () => {
    const token = await clientCredentials("altgate-shortlived", "shortlived-dev-secret");
    const exp = claims(token).exp as number;
    expect((await call("/v1/whoami", token)).status).toBe(200);
    await sleep(Math.max(0, exp * 1000 - Date.now()) + 1500);
    const d = await denial(await call("/v1/whoami", token));
    expect([d.status, d.error]).toEqual([401, "invalid_token"]);
  });

  it("never lets client-supplied x-altgate-* headers reach the upstream, on public and protected routes", async () => {
    const forged = {
      "x-altgate-subject": "admin",
      "X-Altgate-Roles": "model:admin",
      "x-altgate-token-kind": "api-token",
      "x-altgate-signature": "t=1,v1=00",
      "x-altgate-anything": "x",
    };
    const pub = await call("/v1/public/whoami", undefined, forged);
    expect(pub.status).toBe(200);
    expect(((await pub.json()) as { headers: object }).headers).toEqual({});

    const token = await passwordGrant("bob");
    const prot = await call("/v1/whoami", token, forged);
    const body = (await prot.json()) as { identity: { username: string; roles: string[] }; headers: Record<string, string> };
    expect(body.identity.username).toBe("bob");
    expect(body.identity.roles).not.toContain("model:admin");
    expect(body.headers["x-altgate-token-kind"]).toBe("oidc");
    expect(body.headers["x-altgate-anything"]).toBeUndefined();
    expect(body.headers["x-altgate-signature"]).toBeUndefined();
  });

  it("makes exactly one introspection call for 100 sequential requests with one token", async () => {
    const token = await clientCredentials();
    const before = await introspectionCalls(stack.envoyAdminUrl);
    for (let i = 0; i < 100; i++) {
      const res = await call("/v1/whoami", token);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect((await introspectionCalls(stack.envoyAdminUrl)) - before).toBe(1);
  });

  it("coalesces 200 concurrent first requests with a fresh token into one introspection call per proxy", async () => {
    const token = await clientCredentials();
    const before = await introspectionCalls(stack.envoyAdminUrl);
    const results = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const res = await call("/v1/whoami", token);
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(results.filter((s) => s !== 200)).toEqual([]);
    const calls = (await introspectionCalls(stack.envoyAdminUrl)) - before;
    console.log(`200 concurrent first requests -> ${calls} introspection call(s) (Envoy --concurrency 2)`);
    expect(calls).toBe(1);
  });
});

describe("a request body arriving while the filter waits for Keycloak", () => {
  it("does not release the request upstream before the verdict", async () => {
    const { connect } = await import("node:net");
    const port = Number(new URL(stack.entryUrl).port);
    const keycloak = stack.pids.keycloak!;
    const body = JSON.stringify({ inputs: { features: [[5.1, 3.5, 1.4, 0.2]] } });
    // Frozen, Keycloak accepts the connection and never answers: the call stays in flight for its
    // whole timeout, and the body arrives in the middle of it.
    process.kill(-keycloak, "SIGSTOP");
    let answer = "";
    try {
      answer = await new Promise<string>((resolve, reject) => {
        const sock = connect({ host: "127.0.0.1", port });
        let got = "";
        sock.on("data", (d) => (got += d));
        sock.on("error", reject);
        sock.on("close", () => resolve(got));
        sock.write(
          `POST /v1/models/iris-classifier/predict HTTP/1.1\r\nHost: altgate\r\nAuthorization: Bearer body-race-${Date.now()}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
        );
        setTimeout(() => sock.write(body), 300);
      });
    } finally {
      process.kill(-keycloak, "SIGCONT");
    }
    // The filter's own 503, not anything from the server (whose errors are problem+json).
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer).toContain("content-type: application/json");
    expect(answer).toContain('"error":"temporarily_unavailable"');
  });
});
