/**
 * The API's shapes as zod schemas, registered in the OpenAPI document through the route
 * definitions (routes/*.ts). The request bodies of predict and infer are checked by validate.ts
 * against the model's own manifest (they depend on the model); these schemas document their
 * envelope, and test/openapi.test.ts checks that the two agree.
 */
import { z } from "@hono/zod-openapi";
import { DATATYPES } from "./tensors.ts";

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "about:blank" }),
    title: z.string().openapi({ example: "Unprocessable Content" }),
    status: z.int().openapi({ example: 422 }),
    detail: z.string().openapi({ example: "inputs.features[2]: expected 4 numbers, got 3" }),
    error: z.string().openapi({
      description:
        "Machine-readable code: invalid_request (400), invalid_token (401), insufficient_scope (403), not_found (404), " +
        "payload_too_large (413), invalid_input (422), server_error (500), bad_gateway (502), temporarily_unavailable (503), gateway_timeout (504)",
      example: "invalid_input",
    }),
    error_description: z.string().openapi({ example: "inputs.features[2]: expected 4 numbers, got 3" }),
    request_id: z.string().openapi({ example: "5f0c8a0e-3c1b-4b8e-9a43-1f0b7b2e6c1d" }),
    issues: z
      .array(z.object({ field: z.string().openapi({ example: "inputs.features[2]" }), message: z.string().openapi({ example: "expected 4 numbers, got 3" }) }))
      .optional()
      .openapi({ description: "422 only: every problem found (at most 10)" }),
  })
  .openapi("Problem", {
    description: "RFC 9457 problem details carrying the altgate error contract (error, error_description, request_id).",
  });

const Datatype = z.enum(DATATYPES).openapi("Datatype", { description: "Open Inference Protocol tensor datatype" });
const Shape = z.array(z.int()).openapi({ description: "Dimensions; -1 means any size. The first is the batch.", example: [-1, 4] });

export const InputSpecSchema = z
  .object({
    name: z.string().openapi({ example: "features" }),
    datatype: Datatype,
    shape: Shape,
    description: z.string().optional(),
    fields: z.array(z.string()).optional().openapi({ description: "Names of the last dimension's elements (for the instances form)" }),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
  })
  .openapi("InputSpec");

export const OutputSpecSchema = z
  .object({
    name: z.string().openapi({ example: "label" }),
    datatype: Datatype,
    shape: Shape,
    description: z.string().optional(),
    labels: z.array(z.string()).optional().openapi({ description: "Class names of an integer output, or the names along the last axis" }),
  })
  .openapi("OutputSpec");

export const ModelSummarySchema = z
  .object({
    name: z.string().openapi({ example: "iris-classifier" }),
    version: z.string().openapi({ example: "1.0.0" }),
    framework: z.string().openapi({ example: "scikit-learn" }),
    description: z.string(),
    href: z.string().openapi({ example: "/v1/models/iris-classifier" }),
  })
  .openapi("ModelSummary");

export const ModelListSchema = z.object({ models: z.array(ModelSummarySchema) }).openapi("ModelList");

export const ModelDetailSchema = z
  .object({
    name: z.string(),
    version: z.string(),
    versions: z.array(z.string()).openapi({ description: "Versions served under this name" }),
    framework: z.string(),
    description: z.string(),
    data: z.string().optional().openapi({ description: "Where the training data came from" }),
    max_batch: z.int().openapi({ description: "Most rows in one request" }),
    inputs: z.array(InputSpecSchema),
    outputs: z.array(OutputSpecSchema),
    links: z.object({ predict: z.string(), infer: z.string() }),
    example: z.record(z.string(), z.unknown()).openapi({ description: "A valid predict request body for this model" }),
    json_schema: z
      .object({
        predict_request: z.record(z.string(), z.unknown()),
        predict_response: z.record(z.string(), z.unknown()),
      })
      .openapi({ description: "JSON Schemas of this model's predict request and response, derived from its manifest" }),
  })
  .openapi("ModelDetail");

const NestedArray = z.array(z.any()).openapi({
  description: "Nested arrays in the input's shape, row-major; the outer array is the batch",
  example: [[5.1, 3.5, 1.4, 0.2]],
});

export const PredictRequestSchema = z
  .union([
    z.strictObject({
      inputs: z.record(z.string(), NestedArray).openapi({ description: "Every input of the model, by name", example: { features: [[5.1, 3.5, 1.4, 0.2]] } }),
    }),
    z.strictObject({
      instances: z
        .array(z.union([z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])), z.array(z.any())]))
        .openapi({
          description: "Single-input models only: one row per instance, as an object of the input's named fields or as an array",
          example: [{ sepal_length_cm: 5.1, sepal_width_cm: 3.5, petal_length_cm: 1.4, petal_width_cm: 0.2 }],
        }),
    }),
  ])
  .openapi("PredictRequest", {
    description:
      "Either `inputs` (input name → nested array matching its shape) or, for a single-input model, `instances`. " +
      "Checked against the model's manifest: shape, datatype, finite numbers, minimum/maximum, max_batch.",
  });

export const PredictResponseSchema = z
  .object({
    model: z.string().openapi({ example: "iris-classifier" }),
    version: z.string().openapi({ example: "1.0.0" }),
    outputs: z.record(z.string(), z.any()).openapi({
      description: "Every output of the model, by name, as nested arrays in its shape",
      example: { label: [0], probabilities: [[0.97, 0.02, 0.01]] },
    }),
    labels: z.record(z.string(), z.any()).optional().openapi({
      description: "For outputs with labels in the manifest: an integer output's class names (same shape), or the names along another output's last axis",
      example: { label: ["setosa"] },
    }),
  })
  .openapi("PredictResponse");

const Parameters = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).openapi("InferParameters");

const InferTensor = z
  .object({
    name: z.string(),
    shape: z.array(z.int().min(0)),
    datatype: Datatype,
    data: z.array(z.any()).openapi({ description: "Elements in row-major order, flat or nested" }),
    parameters: Parameters.optional(),
  })
  .openapi("InferTensor");

export const InferRequestSchema = z
  .strictObject({
    id: z.string().max(256).optional(),
    parameters: Parameters.optional(),
    inputs: z.array(InferTensor).min(1),
    outputs: z.array(z.strictObject({ name: z.string(), parameters: Parameters.optional() })).optional(),
  })
  .openapi("InferRequest", {
    description: "Open Inference Protocol (KServe v2) inference request; checked against the model's manifest before it is forwarded",
    example: { inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2] }] },
  });

export const InferResponseSchema = z
  .object({
    model_name: z.string(),
    model_version: z.string(),
    id: z.string().optional(),
    parameters: Parameters.optional(),
    outputs: z.array(InferTensor),
  })
  .openapi("InferResponse");

const MetadataTensor = z.object({ name: z.string(), datatype: Datatype, shape: z.array(z.int()) });
export const ModelMetadataSchema = z
  .object({
    name: z.string(),
    versions: z.array(z.string()),
    platform: z.string(),
    inputs: z.array(MetadataTensor),
    outputs: z.array(MetadataTensor),
  })
  .openapi("ModelMetadata", { description: "Open Inference Protocol model metadata" });

export const HealthSchema = z.object({ status: z.literal("ok") }).openapi("Health");

const Checks = z
  .object({
    database: z.string().openapi({ example: "ok" }),
    models: z.record(z.string(), z.string()).openapi({ description: "Per model: ok, or why its container is not ready", example: { "iris-classifier": "ok" } }),
  })
  .openapi("ReadinessChecks");

export const ReadySchema = z.object({ status: z.literal("ready"), checks: Checks }).openapi("Ready");
export const NotReadySchema = ProblemSchema.extend({ checks: Checks }).openapi("NotReady");

export const WhoamiSchema = z
  .object({
    identity: z
      .object({
        subject: z.string(),
        username: z.string(),
        client: z.string(),
        roles: z.array(z.string()),
        scopes: z.array(z.string()),
        tokenKind: z.string(),
        tokenId: z.string(),
      })
      .nullable(),
    headers: z.record(z.string(), z.string()).openapi({ description: "The identity headers as received (the signature header left out)" }),
    authorization_forwarded: z.boolean(),
    identity_signature: z.enum(["verified", "not_configured", "missing", "malformed", "expired", "mismatch"]),
  })
  .openapi("Whoami");

export const ModelNameParam = z.object({
  name: z.string().openapi({ param: { name: "name", in: "path" }, example: "iris-classifier", description: "Model name" }),
});
