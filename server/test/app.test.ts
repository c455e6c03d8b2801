/**
 * The app through app.request(), with an in-process OIP stub as the model container: the happy
 * paths, every bad-input answer, every container failure (and that the server is fine after each),
 * identity, signatures and manifest roles, readiness, metrics and logs.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { signIdentity } from "../src/signature.ts";
import { startStub, type Stub, type StubMode } from "./support/oip-stub.ts";
import { INVOKER, makeApp, manifest, post, type TestApp } from "./support/fixtures.ts";

const GOOD = { inputs: { features: [[5.1, 3.5, 1.4, 0.2], [1.0, 2.0, 3.0, 0.5]] } };
const PREDICT = "/v1/models/iris-classifier/predict";

let stub: Stub;
let t: TestApp;

beforeAll(async () => {
  stub = await startStub();
  t = makeApp([
    { manifest: manifest(), endpoint: stub.url, timeoutMs: 300 },
    { manifest: manifest({ name: "partner-model", roles: ["partner-a"] }), endpoint: stub.url },
  ]);
});
afterAll(async () => {
  await stub.stop();
  await t.upstreams.close();
});
beforeEach(() => {
  stub.mode = "ok";
  stub.ready = true;
});

async function problem(res: Response, status: number, error: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ status, error, title: expect.any(String), error_description: expect.any(String), request_id: expect.any(String) });
  expect(body.detail).toBe(body.error_description);
  return body;
}

/** After any failure: ready, and the next good request is answered correctly. */
async function expectHealthy(app = t.app) {
  const ready = await app.request("/readyz");
  expect(ready.status).toBe(200);
  const res = await post(app, PREDICT, GOOD);
  expect(res.status).toBe(200);
  expect(((await res.json()) as { labels: unknown }).labels).toEqual({ label: ["setosa", "virginica"] });
}

describe("predict", () => {
  it("answers with every output, label names, and the request id", async () => {
    const before = stub.requests.length;
    const res = await post(t.app, PREDICT, GOOD, { ...INVOKER, "x-request-id": "test-request-1" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("test-request-1");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({
      model: "iris-classifier",
      version: "1.0.0",
      outputs: { label: [0, 2], probabilities: [[0.9, 0.05, 0.05], [0.05, 0.05, 0.9]] },
      labels: { label: ["setosa", "virginica"] },
    });
    expect(stub.requests.length).toBe(before + 1);
    const sent = stub.requests.at(-1)!;
    expect(sent.model).toBe("iris-classifier");
    expect(sent.headers["x-request-id"]).toBe("test-request-1");
    expect(sent.body).toEqual({
      id: "test-request-1",
      inputs: [{ name: "features", shape: [2, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2, 1, 2, 3, 0.5] }],
      // Every manifest output by name: some OIP servers answer only their defaults otherwise.
      outputs: [{ name: "label" }, { name: "probabilities" }],
    });
  });

  it("accepts instances with named fields", async () => {
    const res = await post(t.app, PREDICT, { instances: [{ sepal_length_cm: 1, sepal_width_cm: 3, petal_length_cm: 2, petal_width_cm: 0.1 }] });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ outputs: { label: [1] }, labels: { label: ["versicolor"] } });
  });

  it("answers 404 for an unknown model", async () => {
    const body = await problem(await post(t.app, "/v1/models/no-such-model/predict", GOOD), 404, "not_found");
    expect(body.error_description).toBe('no model named "no-such-model"');
    await problem(await t.app.request("/v1/models/no-such-model", { headers: INVOKER }), 404, "not_found");
  });

  describe("refuses bad input before calling the container", () => {
    let before: number;
    beforeEach(() => {
      before = stub.requests.length;
    });
    afterEach(async () => {
      expect(stub.requests.length).toBe(before);
      await expectHealthy();
    });

    it("422 for a wrong shape, naming the field", async () => {
      const body = await problem(await post(t.app, PREDICT, { inputs: { features: [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3]] } }), 422, "invalid_input");
      expect(body.error_description).toBe("inputs.features[2]: expected 4 numbers, got 3");
      expect(body.issues).toEqual([{ field: "inputs.features[2]", message: "expected 4 numbers, got 3" }]);
    });

    it("422 for a wrong type, naming the field", async () => {
      const body = await problem(await post(t.app, PREDICT, { inputs: { features: [[1, "2", 3, 4]] } }), 422, "invalid_input");
      expect(body.error_description).toBe("inputs.features[0][1]: expected a number, got a string");
    });

    it("422 for Infinity, out-of-bounds values and a batch over max_batch", async () => {
      const inf = await problem(await post(t.app, PREDICT, '{"inputs": {"features": [[1, 2, 3, -1e999]]}}'), 422, "invalid_input");
      expect(inf.error_description).toBe("inputs.features[0][3]: expected a finite number, got -Infinity");
      const big = await problem(await post(t.app, PREDICT, { inputs: { features: [[1, 2, 3, 400]] } }), 422, "invalid_input");
      expect(big.error_description).toBe("inputs.features[0][3]: 400 is above the maximum 100");
      const batch = await problem(await post(t.app, PREDICT, { inputs: { features: Array(65).fill([1, 2, 3, 4]) } }), 422, "invalid_input");
      expect(batch.error_description).toBe("inputs.features: batch of 65 rows exceeds max_batch 64");
    });

    it("400 for a body that is not JSON", async () => {
      const body = await problem(await post(t.app, PREDICT, '{"inputs": {"features": [[1,2,3,4]]'), 400, "invalid_request");
      expect(body.error_description).toMatch(/^request body is not valid JSON/);
      await problem(await post(t.app, PREDICT, ""), 400, "invalid_request");
    });

    it("413 for a body over the limit, streamed or declared", async () => {
      const huge = JSON.stringify({ inputs: { features: Array(20_000).fill([1, 2, 3, 4]) } });
      expect(huge.length).toBeGreaterThan(64 * 1024);
      const body = await problem(await post(t.app, PREDICT, huge), 413, "payload_too_large");
      expect(body.error_description).toBe("request body exceeds the limit of 65536 bytes");
      let pulled = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(ctrl) {
          if (++pulled > 10_000) return ctrl.close();
          ctrl.enqueue(new TextEncoder().encode("[1,2,3,4],".repeat(100)));
        },
      });
      const res = await t.app.request(PREDICT, { method: "POST", headers: { ...INVOKER, "content-type": "application/json" }, body: stream, duplex: "half" } as RequestInit);
      await problem(res, 413, "payload_too_large");
      expect(pulled).toBeLessThan(100);
    });
  });

  describe("maps container failures, and recovers after each", () => {
    afterEach(async () => {
      stub.mode = "ok";
      await expectHealthy();
    });

    it("503 when the container is down", async () => {
      await stub.stop();
      try {
        const res = await post(t.app, PREDICT, GOOD);
        const body = await problem(res, 503, "temporarily_unavailable");
        expect(res.headers.get("retry-after")).toBe("1");
        expect(body.error_description).toBe('model "iris-classifier" is unavailable');
        const ready = await t.app.request("/readyz");
        expect(ready.status).toBe(503);
        expect(((await ready.json()) as { checks: { models: Record<string, string> } }).checks.models["iris-classifier"]).toMatch(/^not ready: /);
      } finally {
        await stub.restart();
      }
    });

    it("503 when the container says it is unavailable", async () => {
      stub.mode = "status-503";
      await problem(await post(t.app, PREDICT, GOOD), 503, "temporarily_unavailable");
    });

    it.each(["slow", "hang"] as StubMode[])("504 when the container is slower than the timeout (%s)", async (mode) => {
      stub.mode = mode;
      stub.delayMs = 1500;
      const started = performance.now();
      const body = await problem(await post(t.app, PREDICT, GOOD), 504, "gateway_timeout");
      const took = performance.now() - started;
      expect(body.error_description).toBe('model "iris-classifier" did not answer within 300 ms');
      expect(took).toBeGreaterThanOrEqual(290);
      expect(took).toBeLessThan(1400);
    });

    it.each([
      "not-json",
      "wrong-shape",
      "wrong-datatype",
      "missing-output",
      "bad-label",
      "wrong-batch",
      "status-500",
      "status-400",
      "not-http",
      "reset",
      "huge",
      "truncated",
    ] as StubMode[])("502 for a garbage answer (%s)", async (mode) => {
      stub.mode = mode;
      const res = await post(t.app, PREDICT, GOOD, { ...INVOKER, "x-request-id": `garbage-${mode}` });
      const body = await problem(res, 502, "bad_gateway");
      expect(body.error_description).toBe('model "iris-classifier" returned an invalid answer');
      expect(JSON.stringify(body)).not.toMatch(/Traceback|oops|SSH/);
      // The reason is in the log, with the request id.
      const line = t.logs.map((l) => JSON.parse(l)).find((l) => l.request_id === `garbage-${mode}`);
      expect(line).toMatchObject({ status: 502, error: "bad_gateway", model: "iris-classifier", upstream: expect.any(String) });
    });
  });

  it("bounds concurrency per model and refuses past the queue with 503", async () => {
    const s = await startStub();
    const a = makeApp([{ manifest: manifest(), endpoint: s.url, timeoutMs: 2000, maxConcurrency: 1, maxQueue: 1 }]);
    try {
      s.mode = "slow";
      s.delayMs = 200;
      const results = await Promise.all([0, 1, 2].map(() => post(a.app, PREDICT, GOOD)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 200, 503]);
      const refused = results.find((r) => r.status === 503)!;
      expect(((await refused.json()) as { error_description: string }).error_description).toBe('model "iris-classifier" is overloaded; retry later');
      expect(s.requests.length).toBe(2);
      s.mode = "ok";
      await expectHealthy(a.app);
      const metrics = await (await a.app.request("/metrics")).text();
      expect(metrics).toContain('altgate_model_calls_total{model="iris-classifier",outcome="overloaded"} 1');
    } finally {
      await s.stop();
      await a.upstreams.close();
    }
  });

  it("reuses keep-alive connections to the container", async () => {
    const before = stub.connections;
    for (let i = 0; i < 20; i++) expect((await post(t.app, PREDICT, GOOD)).status).toBe(200);
    expect(stub.connections - before).toBeLessThanOrEqual(1);
  });
});

describe("identity and manifest roles", () => {
  const noRoles = { "x-altgate-subject": "user-2", "x-altgate-roles": "" };

  it("answers 401 without an identity", async () => {
    for (const [method, path] of [
      ["GET", "/v1/models"],
      ["GET", "/v1/models/iris-classifier"],
      ["POST", PREDICT],
      ["GET", "/v2/models/iris-classifier"],
      ["POST", "/v2/models/iris-classifier/infer"],
    ]) {
      const res = await t.app.request(path!, { method, body: method === "POST" ? JSON.stringify(GOOD) : undefined });
      await problem(res, 401, "invalid_token");
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token"/);
    }
  });

  it("lists only the models the caller's roles allow", async () => {
    const names = async (headers: Record<string, string>) =>
      ((await (await t.app.request("/v1/models", { headers })).json()) as { models: { name: string }[] }).models.map((m) => m.name);
    expect(await names(INVOKER)).toEqual(["iris-classifier"]);
    expect(await names({ ...noRoles, "x-altgate-roles": "partner-a" })).toEqual(["partner-model"]);
    expect(await names({ ...noRoles, "x-altgate-roles": "model:read" })).toEqual([]);
  });

  it("answers 403 when the route rule allows the caller but the model's manifest does not", async () => {
    const before = stub.requests.length;
    // INVOKER has model:invoke, which the gateway's rule for POST /v1/models requires; the
    // partner model's manifest allows only partner-a.
    const res = await post(t.app, "/v1/models/partner-model/predict", GOOD);
    const body = await problem(res, 403, "insufficient_scope");
    expect(body.error_description).toBe('your roles do not allow model "partner-model"');
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer error="insufficient_scope"/);
    await problem(await t.app.request("/v1/models/partner-model", { headers: INVOKER }), 403, "insufficient_scope");
    await problem(await post(t.app, "/v2/models/partner-model/infer", {}), 403, "insufficient_scope");
    expect(stub.requests.length).toBe(before);
    // Authorization comes before reading the body: a bad body from a forbidden caller is still a 403.
    await problem(await post(t.app, "/v1/models/partner-model/predict", "{not json"), 403, "insufficient_scope");
    const allowed = await post(t.app, "/v1/models/partner-model/predict", GOOD, { ...noRoles, "x-altgate-roles": "partner-a" });
    expect(allowed.status).toBe(200);
  });

  it("describes an allowed model", async () => {
    const res = await t.app.request("/v1/models/iris-classifier", { headers: INVOKER });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({
      name: "iris-classifier",
      version: "1.0.0",
      versions: ["1.0.0"],
      framework: "scikit-learn",
      max_batch: 64,
      links: { predict: PREDICT, infer: "/v2/models/iris-classifier/infer" },
    });
    expect(body.inputs[0]).toMatchObject({ name: "features", datatype: "FP32", shape: [-1, 4], fields: expect.any(Array), minimum: 0, maximum: 100 });
    expect(body.outputs[0]).toMatchObject({ name: "label", labels: ["setosa", "versicolor", "virginica"] });
    expect(body).not.toHaveProperty("artifact");
    expect(body).not.toHaveProperty("roles");
    // The example is a valid request.
    expect((await post(t.app, PREDICT, body.example)).status).toBe(200);
  });

  describe("with an HMAC key", () => {
    const KEY = Buffer.from("an-hmac-key-of-at-least-32-characters!");
    const NOW = 1_800_000_000;
    let s: TestApp;
    beforeAll(() => {
      s = makeApp([{ manifest: manifest(), endpoint: stub.url }], { hmacKey: KEY, maxSkewSeconds: 60, nowSeconds: () => NOW });
    });
    afterAll(() => s.upstreams.close());
    const sign = (h: Record<string, string>, t = NOW) => ({ ...h, "x-altgate-signature": signIdentity((n) => h[n], KEY, t) });

    it("accepts a valid signature", async () => {
      expect((await s.app.request("/v1/models", { headers: sign(INVOKER) })).status).toBe(200);
      expect((await post(s.app, PREDICT, GOOD, sign(INVOKER))).status).toBe(200);
      const who = (await (await s.app.request("/v1/whoami", { headers: sign(INVOKER) })).json()) as Record<string, any>;
      expect(who.identity_signature).toBe("verified");
      expect(who.identity.username).toBe("alice");
      expect(who.headers).not.toHaveProperty("x-altgate-signature");
    });

    it.each([
      ["tampered", () => ({ ...sign(INVOKER), "x-altgate-roles": "model:invoke,model:admin" }), "the identity signature does not verify"],
      ["stale", () => sign(INVOKER, NOW - 61), "the identity signature is outside the allowed clock skew"],
      ["missing", () => INVOKER, "the identity headers are not signed"],
      ["malformed", () => ({ ...INVOKER, "x-altgate-signature": "t=1,v1=zz" }), "the identity signature is malformed"],
    ])("refuses a %s signature with 401", async (_what, headers, description) => {
      const body = await problem(await s.app.request("/v1/models", { headers: headers() }), 401, "invalid_token");
      expect(body.error_description).toBe(description);
      await problem(await post(s.app, PREDICT, GOOD, headers()), 401, "invalid_token");
      const who = (await (await s.app.request("/v1/whoami", { headers: headers() })).json()) as Record<string, any>;
      expect(who.identity).toBeNull();
    });
  });
});

describe("Open Inference Protocol", () => {
  const INFER = "/v2/models/iris-classifier/infer";
  const request = { id: "client-id-7", inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 0.5] }] };

  it("serves model metadata", async () => {
    const res = await t.app.request("/v2/models/iris-classifier", { headers: INVOKER });
    expect(await res.json()).toEqual({
      name: "iris-classifier",
      versions: ["1.0.0"],
      platform: "scikit-learn",
      inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }],
      outputs: [
        { name: "label", datatype: "INT64", shape: [-1] },
        { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
      ],
    });
  });

  it("forwards a checked request and returns the checked answer", async () => {
    const res = await post(t.app, INFER, request);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      model_name: "iris-classifier",
      model_version: "1.0.0",
      id: "client-id-7",
      outputs: [
        { name: "label", datatype: "INT64", shape: [1], data: [2] },
        { name: "probabilities", datatype: "FP32", shape: [1, 3], data: [0.05, 0.05, 0.9] },
      ],
    });
    expect(stub.requests.at(-1)!.body).toEqual(request);
  });

  it("answers 422 naming the field, and maps container failures the same way", async () => {
    const bad = { inputs: [{ name: "features", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] };
    const body = await problem(await post(t.app, INFER, bad), 422, "invalid_input");
    expect(body.error_description).toBe("inputs[0].shape[1]: expected 4, got 3");
    stub.mode = "wrong-shape";
    await problem(await post(t.app, INFER, request), 502, "bad_gateway");
    stub.mode = "ok";
    expect((await post(t.app, INFER, request)).status).toBe(200);
  });
});

describe("operations", () => {
  it("is alive", async () => {
    expect(await (await t.app.request("/healthz")).json()).toEqual({ status: "ok" });
  });

  it("is not ready without the database", async () => {
    const a = makeApp([], {
      checkDatabase: async () => {
        throw new Error("connection refused");
      },
    });
    const res = await a.app.request("/readyz");
    const body = await problem(res, 503, "not_ready");
    expect(body.checks).toEqual({ database: "connection refused", models: {} });
  });

  it("requires all, any or no model containers to be ready, as configured", async () => {
    const down = "http://127.0.0.1:1";
    const two = [
      { manifest: manifest(), endpoint: stub.url },
      { manifest: manifest({ name: "other" }), endpoint: down },
    ];
    const status = async (readyModels: "all" | "any" | "none") => {
      const a = makeApp(two, { readyModels });
      const r = await a.app.request("/readyz");
      await a.upstreams.close();
      return r.status;
    };
    expect(await status("all")).toBe(503);
    expect(await status("any")).toBe(200);
    expect(await status("none")).toBe(200);
    stub.ready = false;
    expect(await status("any")).toBe(503);
    expect(await status("none")).toBe(200);
  });

  it("counts requests by route pattern and status, and model calls by outcome", async () => {
    await post(t.app, PREDICT, GOOD);
    await t.app.request("/no/such/route");
    const res = await t.app.request("/metrics");
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/altgate_http_requests_total\{method="POST",route="\/v1\/models\/:name\/predict",status="200"\} \d+/);
    expect(text).toMatch(/altgate_http_requests_total\{method="POST",route="\/v1\/models\/:name\/predict",status="422"\} \d+/);
    expect(text).toMatch(/altgate_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).toMatch(/altgate_http_request_duration_seconds_bucket\{le="0\.005",method="POST",route="\/v1\/models\/:name\/predict",status="200"\} \d+/);
    for (const outcome of ["ok", "timeout", "unavailable", "bad_response"]) {
      expect(text).toMatch(new RegExp(`altgate_model_calls_total\\{model="iris-classifier",outcome="${outcome}"\\} \\d+`));
    }
    expect(text).toMatch(/altgate_model_call_duration_seconds_count\{model="iris-classifier",outcome="ok"\} \d+/);
    expect(text).not.toContain("/no/such/route");
  });

  it("logs one JSON line per request with its request id, and no token material", async () => {
    const secret = "eyJhbGciOiJSUzI1NiJ9.SECRET-PAYLOAD.SIG";
    const sig = `t=1800000000,v1=${"ab".repeat(32)}`;
    await post(t.app, PREDICT, GOOD, { ...INVOKER, authorization: `Bearer ${secret}`, "x-altgate-signature": sig, "x-request-id": "log-test-1" });
    await t.app.request("/v1/whoami", { headers: { ...INVOKER, authorization: `Bearer ${secret}`, "x-altgate-signature": sig, "x-request-id": "log-test-2" } });
    const lines = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l.request_id === "log-test-1");
    expect(line).toMatchObject({ level: "info", msg: "request", method: "POST", path: PREDICT, route: "/v1/models/:name/predict", status: 200, subject: "user-1", model: "iris-classifier", service: "altgate-server" });
    expect(typeof line!.duration_ms).toBe("number");
    expect(lines.find((l) => l.request_id === "log-test-2")).toBeDefined();
    const all = t.logs.join("");
    expect(all).not.toContain("SECRET-PAYLOAD");
    expect(all).not.toContain("ab".repeat(32));
    expect(all).not.toMatch(/authorization/i);
  });

  it("keeps /v1/whoami and /v1/public/whoami", async () => {
    const who = (await (await t.app.request("/v1/whoami", { headers: { ...INVOKER, authorization: "Bearer x" } })).json()) as Record<string, any>;
    expect(who).toMatchObject({ identity: { subject: "user-1", username: "alice", roles: ["model:read", "model:invoke"] }, authorization_forwarded: true, identity_signature: "not_configured" });
    expect(who.headers["x-altgate-roles"]).toBe("model:read,model:invoke");
    const pub = (await (await t.app.request("/v1/public/whoami")).json()) as Record<string, any>;
    expect(pub).toEqual({ identity: null, headers: {}, authorization_forwarded: false, identity_signature: "not_configured" });
  });

  it("answers unknown routes with the error shape", async () => {
    const body = await problem(await t.app.request("/v1/nothing"), 404, "not_found");
    expect(body.error_description).toBe("no route for GET /v1/nothing");
  });
});

describe("over real HTTP (@hono/node-server)", () => {
  // app.request() hands the app a web Request; under @hono/node-server the body is read from
  // Node's IncomingMessage instead. The same answers either way.
  let url: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const { serve } = await import("@hono/node-server");
    await new Promise<void>((resolve) => {
      const server = serve({ fetch: t.app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
        url = `http://127.0.0.1:${info.port}`;
        resolve();
      });
      close = () =>
        new Promise((r) => {
          server.close(() => r());
          (server as unknown as { closeAllConnections(): void }).closeAllConnections();
        });
    });
  });
  afterAll(() => close());

  const send = (body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${url}${PREDICT}`, { method: "POST", headers: { ...INVOKER, "content-type": "application/json", ...headers }, body, duplex: "half" } as RequestInit);

  it("predicts", async () => {
    const res = await send(JSON.stringify(GOOD));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { labels: unknown }).labels).toEqual({ label: ["setosa", "virginica"] });
  });

  it("answers 400, 413 (declared and streamed) and 422 the same way", async () => {
    await problem(await send("{nope"), 400, "invalid_request");
    await problem(await send(JSON.stringify({ inputs: { features: [[1, 2, 3]] } })), 422, "invalid_input");
    await problem(await send("x".repeat(70 * 1024)), 413, "payload_too_large");
    // 100 MB offered without a Content-Length: the server answers 413 long before the end.
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (++pulled > 100_000) return ctrl.close();
        ctrl.enqueue(new TextEncoder().encode("[1,2,3,4],".repeat(100)));
      },
    });
    const res = await send(stream as unknown as BodyInit).catch((err: Error) => err);
    if (res instanceof Response) await problem(res, 413, "payload_too_large");
    else expect(String(res.cause ?? res)).toMatch(/other side closed|ECONNRESET|EPIPE|socket/i);
    expect(pulled).toBeLessThan(100_000);
    const ok = await send(JSON.stringify(GOOD));
    expect(ok.status).toBe(200);
  });
});
