import { describe, it, expect, inject } from "vitest";
import { passwordGrant } from "./keycloak.ts";
import { reference, nest, expectSameValues } from "./support/reference.ts";

const stack = inject("stack");

async function api(path: string, token: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${stack.entryUrl}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers } });
}

const predictBody = (model: string) => {
  const ref = reference(model);
  return JSON.stringify({ inputs: Object.fromEntries(ref.inputs.map((t) => [t.name, nest(t)])) });
};

async function expectHealthy(token: string): Promise<void> {
  expect((await fetch(`${stack.serverUrl}/readyz`)).status).toBe(200);
  const res = await api("/v1/models/iris-classifier/predict", token, { method: "POST", body: predictBody("iris-classifier") });
  expect(res.status).toBe(200);
}

describe("models through Envoy, the filter, the server and the model container", () => {
  it.each([
    ["iris-classifier", "alice"],
    ["diabetes-progression", "alice"],
    ["toxicity-descriptors", "olivia"],
  ] as const)("%s: predictions equal the reference outputs the training script recorded", async (model, user) => {
    const token = await passwordGrant(user);
    const res = await api(`/v1/models/${model}/predict`, token, { method: "POST", body: predictBody(model) });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { model: string; outputs: Record<string, unknown> };
    expect(body.model).toBe(model);
    for (const out of reference(model).outputs) expectSameValues(body.outputs[out.name], out.data, `${model}.${out.name}`);
  });

  it("passes the Open Inference Protocol through, with the same results", async () => {
    const token = await passwordGrant("alice");
    const ref = reference("iris-classifier");
    const res = await api("/v2/models/iris-classifier/infer", token, { method: "POST", body: JSON.stringify({ inputs: ref.inputs }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputs: { name: string; data: number[] }[] };
    for (const out of ref.outputs) expectSameValues(body.outputs.find((o) => o.name === out.name)?.data, out.data, out.name);
  });

  it("lists only the models the caller's roles allow", async () => {
    const names = async (user: "alice" | "olivia") => {
      const res = await api("/v1/models", await passwordGrant(user));
      const body = (await res.json()) as { models: { name: string }[] };
      return body.models.map((m) => m.name).sort();
    };
    expect(await names("alice")).toEqual(["diabetes-progression", "iris-classifier"]);
    expect(await names("olivia")).toEqual(["diabetes-progression", "iris-classifier", "toxicity-descriptors"]);
  });

  it("refuses with 403 from the server a user the route rule lets through but the model's manifest does not", async () => {
    const alice = await passwordGrant("alice");
    const res = await api("/v1/models/toxicity-descriptors/predict", alice, { method: "POST", body: predictBody("toxicity-descriptors") });
    expect(res.status).toBe(403);
    // The server's answer (problem+json), not the filter's: the filter allowed model:invoke.
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const body = (await res.json()) as { error: string; error_description: string; request_id: string };
    expect(body.error).toBe("insufficient_scope");
    expect(body.error_description).toContain("toxicity-descriptors");
    expect(body.request_id).toBeTruthy();
  });

  it("rejects bad input clearly, and stays healthy after each", async () => {
    const token = await passwordGrant("alice");
    const post = (path: string, body: string) => api(path, token, { method: "POST", body });
    const cases: [string, Promise<Response>, number, RegExp][] = [
      ["unknown model", post("/v1/models/no-such-model/predict", predictBody("iris-classifier")), 404, /no-such-model/],
      ["wrong shape", post("/v1/models/iris-classifier/predict", JSON.stringify({ inputs: { features: [[1, 2, 3]] } })), 422, /features\[0\]/],
      ["wrong type", post("/v1/models/iris-classifier/predict", JSON.stringify({ inputs: { features: [[1, 2, "x", 4]] } })), 422, /features\[0\]\[2\]/],
      ["not JSON", post("/v1/models/iris-classifier/predict", "{not json"), 400, /JSON/i],
      ["oversize", post("/v1/models/iris-classifier/predict", JSON.stringify({ inputs: { features: Array(150_000).fill([1, 2, 3, 4]) } })), 413, /.+/],
    ];
    for (const [what, pending, status, described] of cases) {
      const res = await pending;
      const body = (await res.json()) as { error_description: string };
      expect(res.status, what).toBe(status);
      expect(body.error_description, what).toMatch(described);
      await expectHealthy(token);
    }
  });

  it("publishes its OpenAPI description through Envoy without a token", async () => {
    const res = await fetch(`${stack.entryUrl}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/models", "/v1/models/{name}/predict", "/v2/models/{name}/infer"]));
  });
});
