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
        "Machine-readable code: invalid_request (400), invalid_token (401), invalid_client (401, introspection), insufficient_scope (403), " +
        "not_found (404), token_not_renewable (409), too_many_tokens (409), payload_too_large (413), invalid_input (422), server_error (500), " +
        "bad_gateway (502), temporarily_unavailable (503), gateway_timeout (504)",
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

// The token service (routes/tokens.ts). The request schemas are also the validators the routes use.

const lifetime = z.int().openapi({ description: "Seconds from now until the token expires; at most the configured maximum", example: 2592000 });

export const CreateTokenRequestSchema = z
  .strictObject({
    name: z.string().openapi({ description: "1 to 100 printable characters", example: "ci pipeline" }),
    lifetime_s: lifetime.optional(),
    roles: z.array(z.string()).min(1).max(32).openapi({ description: "A subset of the caller's roles", example: ["model:invoke"] }),
    scopes: z.array(z.string()).max(32).optional().openapi({ description: "A subset of the caller's scopes", example: [] }),
  })
  .openapi("CreateTokenRequest");

export const RenewTokenRequestSchema = z
  .strictObject({ lifetime_s: lifetime.optional() })
  .openapi("RenewTokenRequest", { description: "May be empty: the default lifetime then applies" });

export const TokenRecordSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    owner_subject: z.string(),
    owner_username: z.string(),
    display: z.string().openapi({ description: "`agt_…` and the token's last four characters", example: "agt_…x7Qz" }),
    roles: z.array(z.string()),
    scopes: z.array(z.string()),
    created_at: z.string().openapi({ format: "date-time" }),
    expires_at: z.string().openapi({ format: "date-time" }),
    last_used_at: z.string().nullable().openapi({ format: "date-time", description: "Last introspection by the gateway (accurate to its cache TTL)" }),
    revoked_at: z.string().nullable().openapi({ format: "date-time" }),
    revoked_by: z.string().nullable().openapi({ description: "Subject of whoever revoked it" }),
    status: z.enum(["active", "expired", "revoked"]),
  })
  .openapi("TokenRecord", { description: "An API token as the API shows it: never the secret nor its hash" });

export const CreatedTokenSchema = TokenRecordSchema.extend({
  token: z.string().openapi({ description: "The secret: shown here once and never again", example: "agt_…" }),
}).openapi("CreatedToken");

export const TokenListSchema = z.object({ tokens: z.array(TokenRecordSchema) }).openapi("TokenList");

export const TokenIdParam = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "0b6f2f52-3a51-4c43-9d5b-3f5f2f7a1c11", description: "Token id" }),
});

export const AdminTokenQuery = z.object({
  owner: z.string().optional().openapi({ param: { name: "owner", in: "query" }, description: "Only this user's tokens: a subject or a username" }),
});

export const RevokeRequestSchema = z
  .object({
    token: z.string().openapi({ description: "An altgate API token or a Keycloak access token" }),
    token_type_hint: z.string().optional().openapi({ description: "Ignored: the token's form says what it is" }),
  })
  .openapi("RevokeRequest");

export const RevokeResultSchema = z
  .object({
    revoked: z.boolean().openapi({ description: "False only when the token was not recognised (RFC 7009 still answers 200)" }),
    kind: z.enum(["api-token", "oidc"]).optional(),
    newly_recorded: z.boolean().optional().openapi({ description: "Keycloak tokens: false when the jti was already in the feed or the token had expired" }),
    keycloak: z
      .object({ ok: z.boolean(), status: z.int(), error: z.string().optional() })
      .nullable()
      .optional()
      .openapi({ description: "Keycloak's answer to the forwarded revocation; null when it was not forwarded. The gateway-side revocation stands regardless." }),
  })
  .openapi("RevokeResult");

export const IntrospectRequestSchema = z
  .object({ token: z.string(), token_type_hint: z.string().optional() })
  .openapi("IntrospectRequest");

export const IntrospectionSchema = z
  .union([
    z.object({ active: z.literal(false) }),
    z.object({
      active: z.literal(true),
      sub: z.string(),
      username: z.string(),
      client_id: z.literal("altgate-api-token"),
      token_type: z.literal("api-token"),
      exp: z.int(),
      iat: z.int(),
      jti: z.string(),
      scope: z.string(),
      realm_access: z.object({ roles: z.array(z.string()) }),
    }),
  ])
  .openapi("Introspection", { description: "RFC 7662 answer, with the token's roles where Keycloak puts them (realm_access.roles)" });

export const RevocationFeedQuery = z.object({
  since: z.string().optional().openapi({
    param: { name: "since", in: "query" },
    description: "The cursor of the previous answer; absent, unparsable or from another database: every active entry",
    example: "3f2a9c1b7d4e.42",
  }),
});

export const RevocationFeedSchema = z
  .object({
    cursor: z.string().openapi({ example: "3f2a9c1b7d4e.42" }),
    revoked: z.array(
      z.object({
        key: z.string().openapi({ description: "SHA-256 hex of an API token, or a Keycloak token's jti" }),
        exp: z.int().openapi({ description: "Unix seconds; drop the entry once passed" }),
      }),
    ),
  })
  .openapi("RevocationFeed");
