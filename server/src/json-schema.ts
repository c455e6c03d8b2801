/**
 * JSON Schemas of one model's predict request and response, derived from its manifest, served in
 * `GET /v1/models/{name}` so that clients can check their input before sending it. They describe
 * what validate.ts checks (a test holds the two together). Pure.
 */
import type { InputSpec, Manifest, OutputSpec } from "./manifest.ts";
import { INT_RANGE, isIntegerType, type Datatype } from "./tensors.ts";

export type JsonSchema = { [k: string]: unknown };

function element(dt: Datatype, bounds?: { minimum?: number; maximum?: number }): JsonSchema {
  if (dt === "BOOL") return { type: "boolean" };
  if (dt === "BYTES") return { type: "string" };
  const s: JsonSchema = { type: isIntegerType(dt) ? "integer" : "number" };
  const range = INT_RANGE[dt];
  const lo = Math.max(bounds?.minimum ?? -Infinity, range?.[0] ?? -Infinity);
  const hi = Math.min(bounds?.maximum ?? Infinity, range?.[1] ?? Infinity);
  if (Number.isFinite(lo)) s.minimum = lo;
  if (Number.isFinite(hi)) s.maximum = hi;
  return s;
}

/** Nested arrays in the tensor's shape; the first dimension is the batch (1..maxBatch when -1). */
export function tensorSchema(spec: InputSpec | OutputSpec, maxBatch?: number): JsonSchema {
  let s = element(spec.datatype, "minimum" in spec ? spec : undefined);
  for (let d = spec.shape.length - 1; d >= 0; d--) {
    const dim = spec.shape[d]!;
    const arr: JsonSchema = { type: "array", items: s };
    if (dim === -1) {
      arr.minItems = 1;
      if (d === 0 && maxBatch !== undefined) arr.maxItems = maxBatch;
    } else {
      arr.minItems = dim;
      arr.maxItems = d === 0 && maxBatch !== undefined ? Math.min(dim, maxBatch) : dim;
    }
    s = arr;
  }
  if (spec.description) s.description = spec.description;
  return s;
}

export function predictRequestSchema(m: Manifest): JsonSchema {
  const inputsForm: JsonSchema = {
    type: "object",
    properties: {
      inputs: {
        type: "object",
        properties: Object.fromEntries(m.inputs.map((s) => [s.name, tensorSchema(s, m.max_batch)])),
        required: m.inputs.map((s) => s.name),
        additionalProperties: false,
      },
    },
    required: ["inputs"],
    additionalProperties: false,
  };
  const only = m.inputs.length === 1 ? m.inputs[0]! : undefined;
  if (!only) return inputsForm;
  const rows = tensorSchema(only, m.max_batch);
  const instance = rows.items as JsonSchema;
  const items = only.fields
    ? {
        oneOf: [
          {
            type: "object",
            properties: Object.fromEntries(only.fields.map((f) => [f, element(only.datatype, only)])),
            required: only.fields,
            additionalProperties: false,
          },
          instance,
        ],
      }
    : instance;
  const instancesForm: JsonSchema = {
    type: "object",
    properties: { instances: { ...rows, items } },
    required: ["instances"],
    additionalProperties: false,
  };
  return { oneOf: [inputsForm, instancesForm] };
}

export function predictResponseSchema(m: Manifest): JsonSchema {
  const labelled = m.outputs.filter((o) => o.labels);
  const schema: JsonSchema = {
    type: "object",
    properties: {
      model: { const: m.name },
      version: { const: m.version },
      outputs: {
        type: "object",
        properties: Object.fromEntries(m.outputs.map((s) => [s.name, tensorSchema(s)])),
        required: m.outputs.map((s) => s.name),
      },
    },
    required: ["model", "version", "outputs"],
  };
  if (labelled.length > 0) {
    (schema.properties as JsonSchema).labels = {
      type: "object",
      properties: Object.fromEntries(
        labelled.map((s) => [
          s.name,
          isIntegerType(s.datatype)
            ? tensorSchema({ ...s, datatype: "BYTES", labels: undefined, description: `label of each ${s.name} value` })
            : { const: s.labels },
        ]),
      ),
    };
  }
  return schema;
}
