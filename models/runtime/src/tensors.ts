import ort from "onnxruntime-node";
import type { Datatype, TensorSpec } from "./manifest.ts";

/** A client mistake: answered with its status and a message naming the offending field. */
export class RequestError extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
  }
}

export const ORT_TYPE: Record<Datatype, ort.Tensor.Type> = {
  BOOL: "bool",
  INT32: "int32",
  INT64: "int64",
  FP32: "float32",
  FP64: "float64",
  BYTES: "string",
};

const DATATYPE_OF: Partial<Record<ort.Tensor.Type, Datatype>> = Object.fromEntries(
  Object.entries(ORT_TYPE).map(([datatype, type]) => [type, datatype as Datatype]),
);

/** Caps one tensor whatever its declared dimensions, so no request can make the runtime allocate without bound. */
export const MAX_ELEMENTS = 1 << 20;

export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: unknown[];
}

/**
 * A client's value as an error message may quote it: short, and never walked, because a body of
 * deeply nested arrays would overflow JSON.stringify's stack.
 */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  return Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value;
}

const describeShape = (shape: number[]) => `[${shape.join(", ")}]`;

function checkShape(spec: TensorSpec, shape: unknown, where: string, maxBatch: number): number[] {
  const expected = `${describeShape(spec.shape)}${spec.shape[0] === -1 ? ` with a batch of 1 to ${maxBatch}` : ""}`;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new RequestError(`${where}.shape must be an array of positive integers; ${spec.name} is ${expected}`);
  }
  const fits =
    shape.length === spec.shape.length &&
    spec.shape.every((d, i) => d === -1 || d === shape[i]) &&
    (spec.shape[0] !== -1 || shape[0] <= maxBatch);
  if (!fits) throw new RequestError(`${where}.shape ${describeShape(shape)} does not fit ${spec.name}: expected ${expected}`);
  return shape as number[];
}

/**
 * Open Inference Protocol data may be flat or nested in row-major order; both become one flat list.
 * Nesting deeper than the tensor's rank is refused, which also bounds the recursion.
 */
function flatten(data: unknown, rank: number, where: string): unknown[] {
  if (!Array.isArray(data)) throw new RequestError(`${where}.data must be an array`);
  const flat: unknown[] = [];
  const walk = (value: unknown[], depth: number) => {
    for (const v of value) {
      if (!Array.isArray(v)) flat.push(v);
      else if (depth + 1 < rank) walk(v, depth + 1);
      else throw new RequestError(`${where}.data is nested deeper than the tensor's ${rank} dimensions`);
    }
  };
  walk(data, 0);
  return flat;
}

function position(spec: TensorSpec, shape: number[], index: number): string {
  const last = shape[shape.length - 1]!;
  const field = spec.fields?.[index % last];
  const row = shape.length > 1 ? ` of row ${Math.floor(index / last)}` : "";
  return field ? ` (${field}${row})` : "";
}

function convert(spec: TensorSpec, values: unknown[], shape: number[], where: string): ort.Tensor["data"] {
  const bad = (i: number, what: string): never => {
    throw new RequestError(`${where}.data[${i}]${position(spec, shape, i)} must be ${what}, got ${show(values[i])}`);
  };
  const numbers = (what: string, ok: (v: number) => boolean) => {
    values.forEach((v, i) => {
      if (typeof v !== "number" || !ok(v)) bad(i, what);
      if (spec.minimum !== undefined && (v as number) < spec.minimum) bad(i, `at least ${spec.minimum}`);
      if (spec.maximum !== undefined && (v as number) > spec.maximum) bad(i, `at most ${spec.maximum}`);
    });
    return values as number[];
  };
  switch (spec.datatype) {
    case "FP32":
      return Float32Array.from(numbers("a number", Number.isFinite));
    case "FP64":
      return Float64Array.from(numbers("a number", Number.isFinite));
    case "INT32":
      return Int32Array.from(numbers("a 32-bit integer", (v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31));
    case "INT64":
      return BigInt64Array.from(numbers("an integer", Number.isSafeInteger), (v) => BigInt(v));
    case "BOOL":
      values.forEach((v, i) => typeof v !== "boolean" && bad(i, "true or false"));
      return Uint8Array.from(values as boolean[], (v) => (v ? 1 : 0));
    case "BYTES":
      values.forEach((v, i) => typeof v !== "string" && bad(i, "a string"));
      return values as string[];
  }
}

/** Checks one request tensor against the manifest and turns it into an onnxruntime tensor. */
export function decodeInput(spec: TensorSpec, raw: Record<string, unknown>, where: string, maxBatch: number): ort.Tensor {
  if (raw.datatype !== spec.datatype) {
    throw new RequestError(`${where}.datatype must be ${spec.datatype} for ${spec.name}, got ${show(raw.datatype)}`);
  }
  const shape = checkShape(spec, raw.shape, where, maxBatch);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > MAX_ELEMENTS) throw new RequestError(`${where}.shape asks for ${count} elements; at most ${MAX_ELEMENTS} are accepted`);
  const values = flatten(raw.data, shape.length, where);
  if (values.length !== count) {
    throw new RequestError(`${where}.data has ${values.length} elements; shape ${describeShape(shape)} needs ${count}`);
  }
  return new ort.Tensor(ORT_TYPE[spec.datatype], convert(spec, values, shape, where), shape);
}

/** An onnxruntime result as an Open Inference Protocol output tensor, data flat in row-major order. */
export function encodeOutput(name: string, tensor: ort.Tensor): Tensor {
  const datatype = DATATYPE_OF[tensor.type];
  if (!datatype) throw new Error(`output ${name} has type ${tensor.type}, which the Open Inference Protocol cannot carry`);
  const data = tensor.data;
  let values: unknown[];
  if (data instanceof BigInt64Array) values = Array.from(data, Number);
  else if (datatype === "BOOL") values = Array.from(data as Uint8Array, (v) => v !== 0);
  else values = Array.from(data as ArrayLike<unknown>);
  return { name, datatype, shape: tensor.dims.map(Number), data: values };
}
