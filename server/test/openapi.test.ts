/**
 * The OpenAPI document: valid (checked by @apidevtools/swagger-parser), and complete (every route
 * the app registers is documented, and nothing else). The docs page shows every operation. The
 * documented request envelopes agree with the validators that actually check bodies.
 */
import SwaggerParser from "@apidevtools/swagger-parser";
import type { OpenAPIV3_1 } from "openapi-types";
import { afterAll, describe, expect, it } from "vitest";
import { createDatabase } from "../src/db/index.ts";
import { createPortalRoutes } from "../src/portal.ts";
import { InferRequestSchema, PredictRequestSchema } from "../src/schemas.ts";
import { RevocationFeed } from "../src/tokens/feed.ts";
import { TokenService } from "../src/tokens/service.ts";
import { checkInferRequest, checkPredictRequest } from "../src/validate.ts";
import { makeApp, manifest } from "./support/fixtures.ts";

// Registering the token routes needs the service's objects, not a database: nothing here queries
// it (the pool connects lazily, the feed is never started).
const UNUSED_DATABASE = "postgres://127.0.0.1:1/unused";
const database = createDatabase(UNUSED_DATABASE);
const service = new TokenService(database, { maxLifetimeS: 3600 });
const { app } = makeApp([{ manifest: manifest(), endpoint: "http://127.0.0.1:1" }], {
  tokens: { service, feed: new RevocationFeed({ connectionString: UNUSED_DATABASE }), introspectionClient: { id: "gateway", secret: "secret" } },
  portal: createPortalRoutes({ keycloakIssuer: "http://127.0.0.1:8080/realms/altgate", clientId: "altgate-portal" }),
});
afterAll(async () => {
  await service.close();
  await database.close();
});

async function document(): Promise<OpenAPIV3_1.Document> {
  const res = await app.request("/openapi.json");
  expect(res.status).toBe(200);
  return (await res.json()) as OpenAPIV3_1.Document;
}

/**
 * Every method + path the app answers, in OpenAPI's path syntax (middleware excluded). The
 * portal's routes are left out on purpose: they serve a web page's static files, not API.
 */
function registeredRoutes(): string[] {
  const out = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL" || r.path === "/portal" || r.path.startsWith("/portal/")) continue;
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
    expect(registered).toEqual(
      expect.arrayContaining([
        "POST /v1/tokens",
        "GET /v1/tokens",
        "POST /v1/tokens/{id}/renew",
        "DELETE /v1/tokens/{id}",
        "GET /v1/admin/tokens",
        "DELETE /v1/admin/tokens/{id}",
        "POST /v1/revoke",
        "POST /internal/v1/introspect",
        "GET /internal/v1/revocations",
      ]),
    );
    expect(registered.length).toBeGreaterThanOrEqual(21);
    expect((await app.request("/portal/")).status).toBe(200);
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

  it("documents the token routes' answers and the gateway's credentials", async () => {
    const doc = await document();
    const create = doc.paths!["/v1/tokens"]!.post!;
    expect(Object.keys(create.responses!).sort()).toEqual(["201", "400", "401", "403", "409", "413", "422", "503"]);
    expect(create.requestBody).toMatchObject({ required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/CreateTokenRequest" } } } });
    const renew = doc.paths!["/v1/tokens/{id}/renew"]!.post!;
    expect(renew.parameters).toEqual([expect.objectContaining({ name: "id", in: "path", required: true })]);
    const introspect = doc.paths!["/internal/v1/introspect"]!.post!;
    expect(introspect.security).toEqual([{ introspectionClient: [] }]);
    expect(Object.keys((introspect.requestBody as OpenAPIV3_1.RequestBodyObject).content)).toEqual(["application/x-www-form-urlencoded"]);
    expect(doc.components!.securitySchemes!.introspectionClient).toMatchObject({ type: "http", scheme: "basic" });
    expect(Object.keys(doc.paths!["/internal/v1/revocations"]!.get!.responses!).sort()).toEqual(["200", "304", "422", "503"]);
    expect(doc.paths!["/internal/v1/revocations"]!.get!.security).toBeUndefined();
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
