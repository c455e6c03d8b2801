/**
 * The OpenAPI document: valid (checked by @apidevtools/swagger-parser), and complete (every route
 * the app registers is documented, and nothing else). The docs page shows every operation. The
 * documented request envelopes agree with the validators that actually check bodies.
 */
import SwaggerParser from "@apidevtools/swagger-parser";
import type { OpenAPIV3_1 } from "openapi-types";
import { describe, expect, it } from "vitest";
import { InferRequestSchema, PredictRequestSchema } from "../src/schemas.ts";
import { checkInferRequest, checkPredictRequest } from "../src/validate.ts";
import { makeApp, manifest } from "./support/fixtures.ts";

const { app } = makeApp([{ manifest: manifest(), endpoint: "http://127.0.0.1:1" }]);

async function document(): Promise<OpenAPIV3_1.Document> {
  const res = await app.request("/openapi.json");
  expect(res.status).toBe(200);
  return (await res.json()) as OpenAPIV3_1.Document;
}

/** Every method + path the app answers, in OpenAPI's path syntax (middleware excluded). */
function registeredRoutes(): string[] {
  const out = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    out.add(`${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`);
  }
  return [...out].sort();
}

function documentedRoutes(doc: OpenAPIV3_1.Document): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of ["get", "put", "post", "delete", "patch", "head", "options"] as const) {
      if (item?.[method]) out.push(`${method.toUpperCase()} ${path}`);
    }
  }
  return out.sort();
}

describe("OpenAPI document", () => {
  it("passes a validator", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.1.0");
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc) as OpenAPIV3_1.Document)).resolves.toBeTruthy();
  });

  it("documents every route the app registers, and only those", async () => {
    const registered = registeredRoutes();
    expect(registered).toContain("POST /v1/models/{name}/predict");
    expect(registered.length).toBeGreaterThanOrEqual(12);
    expect(documentedRoutes(await document())).toEqual(registered);
  });

  it("documents the error responses and the security of model routes", async () => {
    const doc = await document();
    const predict = doc.paths!["/v1/models/{name}/predict"]!.post!;
    expect(Object.keys(predict.responses!).sort()).toEqual(["200", "400", "401", "403", "404", "413", "422", "502", "503", "504"]);
    expect(predict.security).toEqual([{ bearerAuth: [] }]);
    expect(predict.requestBody).toMatchObject({ required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/PredictRequest" } } } });
    expect(doc.components!.securitySchemes!.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.paths!["/healthz"]!.get!.security).toBeUndefined();
  });

  it("is rendered as a docs page showing every operation", async () => {
    const res = await app.request("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    const html = await res.text();
    for (const route of registeredRoutes()) {
      const [method, path] = route.split(" ");
      expect(html).toContain(`<span class="m ${method!.toLowerCase()}">${method}</span> <code>${path}</code>`);
    }
    expect(html).not.toMatch(/<script/i);
  });
});

describe("documented request bodies agree with the validators", () => {
  const iris = manifest();
  const row = [5.1, 3.5, 1.4, 0.2];
  const predictBodies: [unknown, boolean][] = [
    [{ inputs: { features: [row] } }, true],
    [{ instances: [{ sepal_length_cm: 5.1, sepal_width_cm: 3.5, petal_length_cm: 1.4, petal_width_cm: 0.2 }] }, true],
    [{ instances: [row] }, true],
    [{}, false],
    [{ inputs: [row] }, false],
    [{ inputs: { features: [row] }, instances: [row] }, false],
    [{ inputs: { features: [row] }, extra: 1 }, false],
    [{ instances: "rows" }, false],
    ["text", false],
  ];
  it.each(predictBodies)("predict %j → valid: %s", (body, valid) => {
    expect(PredictRequestSchema.safeParse(body).success).toBe(valid);
    expect(checkPredictRequest(iris, body).ok).toBe(valid);
  });

  const tensor = { name: "features", shape: [1, 4], datatype: "FP32", data: row };
  const inferBodies: [unknown, boolean][] = [
    [{ inputs: [tensor] }, true],
    [{ id: "x", parameters: { a: 1 }, inputs: [tensor], outputs: [{ name: "label" }] }, true],
    [{ inputs: [] }, false],
    [{ inputs: [{ ...tensor, datatype: "FLOAT" }] }, false],
    [{ inputs: [tensor], extra: 1 }, false],
    [{ inputs: [tensor], outputs: [{ name: "label", extra: 1 }] }, false],
    [{ inputs: [{ ...tensor, shape: [-1, 4] }] }, false],
  ];
  it.each(inferBodies)("infer %j → valid: %s", (body, valid) => {
    expect(InferRequestSchema.safeParse(body).success).toBe(valid);
    expect(checkInferRequest(iris, body).ok).toBe(valid);
  });
});
