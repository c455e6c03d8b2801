/** /v1/models: the models the caller may use, their schemas, and predict in plain JSON. */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { authorizedModel, requireIdentity } from "../auth.ts";
import type { AppEnv, Deps } from "../context.ts";
import { predictRequestSchema, predictResponseSchema } from "../json-schema.ts";
import { allows } from "../manifest.ts";
import {
  ModelDetailSchema,
  ModelListSchema,
  ModelNameParam,
  PredictRequestSchema,
  PredictResponseSchema,
} from "../schemas.ts";
import { checkInferResponse, checkPredictRequest, examplePredictRequest, toPredictResponse } from "../validate.ts";
import { bearer, checkedModelRequest, errorResponses, openapiRawBody } from "./common.ts";

export function registerModelRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  const auth = requireIdentity(deps);

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/models",
      tags: ["models"],
      summary: "List the models you may use",
      description: "Only the models whose manifest allows one of the caller's roles.",
      security: bearer,
      middleware: [auth] as const,
      responses: {
        200: { description: "The models", content: { "application/json": { schema: ModelListSchema } } },
        ...errorResponses(401),
      },
    }),
    (c) => {
      const roles = c.get("identity")!.roles;
      const models = [...deps.models.values()]
        .filter((m) => allows(m.manifest, roles))
        .map(({ manifest: m }) => ({
          name: m.name,
          version: m.version,
          framework: m.framework,
          description: m.description,
          href: `/v1/models/${encodeURIComponent(m.name)}`,
        }));
      return c.json({ models }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/models/{name}",
      tags: ["models"],
      summary: "Describe a model",
      description: "Versions, framework, description, the input and output tensors (names, datatypes, shapes, fields, bounds, labels), and an example request.",
      security: bearer,
      middleware: [auth] as const,
      request: { params: ModelNameParam },
      responses: {
        200: { description: "The model", content: { "application/json": { schema: ModelDetailSchema } } },
        ...errorResponses(401, 403, 404),
      },
    }),
    (c) => {
      const name = c.req.valid("param").name;
      c.set("model", name);
      const m = authorizedModel(deps, name, c.get("identity")!).manifest;
      const path = encodeURIComponent(m.name);
      return c.json(
        {
          name: m.name,
          version: m.version,
          versions: [m.version],
          framework: m.framework,
          description: m.description,
          ...(m.data !== undefined ? { data: m.data } : {}),
          max_batch: m.max_batch,
          inputs: m.inputs,
          outputs: m.outputs,
          links: { predict: `/v1/models/${path}/predict`, infer: `/v2/models/${path}/infer` },
          example: examplePredictRequest(m),
          json_schema: { predict_request: predictRequestSchema(m), predict_response: predictResponseSchema(m) },
        },
        200,
      );
    },
  );

  openapiRawBody(
    app,
    createRoute({
      method: "post",
      path: "/v1/models/{name}/predict",
      tags: ["models"],
      summary: "Predict with a model (plain JSON)",
      description:
        "Send `{\"inputs\": {\"<input>\": [[…], …]}}` (each input as nested arrays in its shape, the first dimension " +
        "being the batch) or, for a single-input model, `{\"instances\": [{\"<field>\": …}, …]}` / `{\"instances\": [[…], …]}`. " +
        "The body is checked against the model's manifest before the model is called. The answer has every output " +
        "as nested arrays, and label names where the manifest has them.",
      security: bearer,
      request: {
        params: ModelNameParam,
        body: { required: true, content: { "application/json": { schema: PredictRequestSchema } } },
      },
      responses: {
        200: { description: "The model's outputs", content: { "application/json": { schema: PredictResponseSchema } } },
        ...errorResponses(400, 401, 403, 404, 413, 422, 502, 503, 504),
      },
    }),
    auth,
    async (c) => {
      const { model, value } = await checkedModelRequest(c, deps, checkPredictRequest);
      const requestId = c.get("requestId");
      const { inputs, batch } = value;
      // Every output is asked for by name: OIP servers may answer only their default outputs
      // otherwise (MLServer's scikit-learn runtime returns predict, not predict_proba).
      const outputs = model.manifest.outputs.map((o) => ({ name: o.name }));
      const answer = await model.client.infer({ id: requestId, inputs, outputs }, requestId, (b) =>
        checkInferResponse(model.manifest, b, { batch }),
      );
      return c.json(toPredictResponse(model.manifest, answer), 200);
    },
  );
}
