/**
 * /v2/models: the Open Inference Protocol (KServe v2) REST API, for OIP clients. The same
 * authentication, authorization and manifest checks as /v1; the checked request is forwarded to
 * the model's container and its checked answer returned.
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { authorizedModel, requireIdentity } from "../auth.ts";
import type { AppEnv, Deps } from "../context.ts";
import { InferRequestSchema, InferResponseSchema, ModelMetadataSchema, ModelNameParam } from "../schemas.ts";
import { checkInferRequest, checkInferResponse } from "../validate.ts";
import { bearer, checkedModelRequest, errorResponses, openapiRawBody } from "./common.ts";

export function registerOipRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  const auth = requireIdentity(deps);

  app.openapi(
    createRoute({
      method: "get",
      path: "/v2/models/{name}",
      tags: ["open inference protocol"],
      summary: "Model metadata (Open Inference Protocol)",
      security: bearer,
      middleware: [auth] as const,
      request: { params: ModelNameParam },
      responses: {
        200: { description: "The model's metadata", content: { "application/json": { schema: ModelMetadataSchema } } },
        ...errorResponses(401, 403, 404),
      },
    }),
    (c) => {
      const name = c.req.valid("param").name;
      c.set("model", name);
      const m = authorizedModel(deps, name, c.get("identity")!).manifest;
      const tensor = (t: { name: string; datatype: (typeof m.inputs)[number]["datatype"]; shape: number[] }) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
      });
      return c.json({ name: m.name, versions: [m.version], platform: m.framework, inputs: m.inputs.map(tensor), outputs: m.outputs.map(tensor) }, 200);
    },
  );

  openapiRawBody(
    app,
    createRoute({
      method: "post",
      path: "/v2/models/{name}/infer",
      tags: ["open inference protocol"],
      summary: "Inference (Open Inference Protocol)",
      description:
        "An Open Inference Protocol inference request. Checked against the model's manifest (input names, datatypes, " +
        "shapes, element types and bounds, max_batch) before it is forwarded to the model's container; the container's " +
        "answer is checked against the manifest's outputs before it is returned.",
      security: bearer,
      request: {
        params: ModelNameParam,
        body: { required: true, content: { "application/json": { schema: InferRequestSchema } } },
      },
      responses: {
        200: { description: "The inference response", content: { "application/json": { schema: InferResponseSchema } } },
        ...errorResponses(400, 401, 403, 404, 413, 422, 502, 503, 504),
      },
    }),
    auth,
    async (c) => {
      const { model, value } = await checkedModelRequest(c, deps, checkInferRequest);
      const { request, batch } = value;
      const requestId = c.get("requestId");
      const answer = await model.client.infer({ ...request, id: request.id ?? requestId }, requestId, (b) =>
        checkInferResponse(model.manifest, b, { batch, outputs: request.outputs?.map((o) => o.name) }),
      );
      // The caller's id comes back as sent (OIP), or none when it sent none.
      if (request.id !== undefined) answer.id = request.id;
      else delete answer.id;
      return c.json(answer, 200);
    },
  );
}
