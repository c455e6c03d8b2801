/**
 * The per-model JSON Schemas served by GET /v1/models/{name} agree with validate.ts: a body the
 * schema accepts is one the server accepts, and the other way round (checked with ajv).
 */
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { predictRequestSchema, predictResponseSchema } from "../src/json-schema.ts";
import { checkInferResponse, checkPredictRequest, toPredictResponse } from "../src/validate.ts";
import { manifest } from "./support/fixtures.ts";

const ajv = new Ajv({ strict: false, allErrors: true });
const row = [5.1, 3.5, 1.4, 0.2];
const named = { sepal_length_cm: 5.1, sepal_width_cm: 3.5, petal_length_cm: 1.4, petal_width_cm: 0.2 };

const models = {
  iris: manifest(),
  multi: manifest({
    inputs: [
      { name: "ids", datatype: "INT32", shape: [-1, 3] },
      { name: "flags", datatype: "BOOL", shape: [-1] },
    ],
  }),
  text: manifest({ inputs: [{ name: "text", datatype: "BYTES", shape: [-1] }] }),
};

const bodies: [keyof typeof models, unknown][] = [
  ["iris", { inputs: { features: [row] } }],
  ["iris", { inputs: { features: [row, row] } }],
  ["iris", { instances: [named] }],
  ["iris", { instances: [row] }],
  ["iris", { instances: [named, row] }],
  ["iris", { inputs: { features: [[1, 2, 3]] } }],
  ["iris", { inputs: { features: [[1, 2, 3, "4"]] } }],
  ["iris", { inputs: { features: [[1, 2, 3, 101]] } }],
  ["iris", { inputs: { features: [[-1, 2, 3, 4]] } }],
  ["iris", { inputs: { features: [] } }],
  ["iris", { inputs: { features: Array(65).fill(row) } }],
  ["iris", { inputs: { features: Array(64).fill(row) } }],
  ["iris", { inputs: {} }],
  ["iris", { inputs: { features: [row], other: [row] } }],
  ["iris", { instances: [{ ...named, extra: 1 }] }],
  ["iris", { instances: [{ sepal_length_cm: 1 }] }],
  ["iris", { inputs: { features: [row] }, instances: [row] }],
  ["iris", {}],
  ["multi", { inputs: { ids: [[1, 2, 3]], flags: [true] } }],
  ["multi", { inputs: { ids: [[1, 2, 3.5]], flags: [true] } }],
  ["multi", { inputs: { ids: [[1, 2, 2147483648]], flags: [true] } }],
  ["multi", { inputs: { ids: [[1, 2, 3]], flags: [1] } }],
  ["multi", { instances: [[1, 2, 3]] }],
  ["text", { inputs: { text: ["hello", "world"] } }],
  ["text", { instances: ["hello"] }],
  ["text", { instances: [{ a: "x" }] }],
  ["text", { inputs: { text: [1] } }],
];

describe("per-model JSON Schemas agree with the validator", () => {
  it.each(bodies)("%s %j", (model, body) => {
    const validate = ajv.compile(predictRequestSchema(models[model]));
    expect(validate(body)).toBe(checkPredictRequest(models[model], body).ok);
  });

  it("describes the predict response", () => {
    const m = models.iris;
    const r = checkInferResponse(
      m,
      {
        outputs: [
          { name: "label", datatype: "INT64", shape: [2], data: [0, 2] },
          { name: "probabilities", datatype: "FP32", shape: [2, 3], data: [1, 0, 0, 0, 0, 1] },
        ],
      },
      { batch: 2 },
    );
    if (!r.ok) throw new Error(r.problem);
    const validate = ajv.compile(predictResponseSchema(m));
    expect(validate(toPredictResponse(m, r.value))).toBe(true);
    expect(validate({ model: "iris-classifier", version: "1.0.0", outputs: { label: [0] } })).toBe(false);
  });
});
