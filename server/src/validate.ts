/**
 * Request bodies checked against a model's manifest before any container is called, and the
 * container's answers checked before anything reaches the caller. Pure.
 *
 * Two request forms:
 * - predict (`/v1/models/{name}/predict`), for people and scripts:
 *     {"inputs": {"features": [[5.1, 3.5, 1.4, 0.2], …]}}   input name → nested array of its shape
 *     {"instances": [{"sepal_length_cm": 5.1, …}, …]}        single-input models with named fields
 *     {"instances": [[5.1, 3.5, 1.4, 0.2], …]}                single-input models, rows
 * - infer (`/v2/models/{name}/infer`): an Open Inference Protocol request, checked the same way.
 *
 * Every problem names its field (`inputs.features[2]`, `instances[0].sepal_length_cm`,
 * `inputs[0].shape[1]`); up to MAX_ISSUES are reported. The result is the OIP tensors to send.
 */
import type { Issue } from "./errors.ts";
import type { InputSpec, Manifest } from "./manifest.ts";
import {
  checkElement,
  describe,
  elementNoun,
  flattenInto,
  formatShape,
  isIntegerType,
  member,
  quote,
  shapeMismatch,
  shapeSize,
  unflatten,
  type Datatype,
  type Scalar,
} from "./tensors.ts";

export const MAX_ISSUES = 10;

export type Parameters = Record<string, string | number | boolean>;

export interface OipTensor {
  name: string;
  shape: number[];
  datatype: Datatype;
  data: Scalar[];
  parameters?: Parameters;
}

export interface OipRequest {
  id?: string;
  parameters?: Parameters;
  inputs: OipTensor[];
  outputs?: { name: string; parameters?: Parameters }[];
}

export interface OipResponse {
  model_name: string;
  model_version: string;
  id?: string;
  parameters?: Parameters;
  outputs: OipTensor[];
}

export interface PredictResponse {
  model: string;
  version: string;
  outputs: Record<string, unknown>;
  labels?: Record<string, unknown>;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; issues: Issue[]; more: boolean };

/** Collects up to MAX_ISSUES problems; `more` turns true at the first one past that (time to stop looking). */
class Issues {
  readonly list: Issue[] = [];
  more = false;
  add(field: string, message: string): void {
    if (this.list.length < MAX_ISSUES) this.list.push({ field, message });
    else this.more = true;
  }
  get count() {
    return this.list.length;
  }
  result<T>(value: T): Checked<T> {
    return this.list.length === 0 ? { ok: true, value } : { ok: false, issues: this.list, more: this.more };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const names = (list: readonly { name: string }[]) => list.map((t) => t.name).join(", ");
/** A top-level field name for a message: `parameters`, or `["odd name"]`. */
const topLevel = (k: string) => member(k).replace(/^\./, "");
const brackets = (idx: readonly number[]) => {
  let s = "";
  for (const i of idx) s += `[${i}]`;
  return s;
};

/**
 * Reads a nested array that must have the input's shape (its first dimension the batch), checking
 * each element's type and bounds. Rectangular: every array at one depth has the same length.
 */
function readNested(
  value: unknown,
  spec: InputSpec,
  maxBatch: number,
  issues: Issues,
  at: (idx: readonly number[]) => string,
): { shape: number[]; data: Scalar[] } | undefined {
  const rank = spec.shape.length;
  const actual = new Array<number>(rank).fill(-1);
  const data: Scalar[] = [];
  const idx: number[] = [];
  const before = issues.count;
  const bounds = spec.minimum !== undefined || spec.maximum !== undefined ? spec : undefined;
  const noun = (d: number) => (d === rank - 1 ? elementNoun(spec.datatype) : "arrays");
  const rec = (v: unknown, d: number): void => {
    if (d === rank) {
      const p = checkElement(spec.datatype, v, bounds);
      if (p === undefined) data.push(v as Scalar);
      else issues.add(at(idx), p);
      return;
    }
    const declared = spec.shape[d]!;
    if (!Array.isArray(v)) {
      issues.add(at(idx), `expected an array of ${declared === -1 ? "" : `${declared} `}${noun(d)}, got ${describe(v)}`);
      return;
    }
    const n = v.length;
    if (actual[d] === -1) {
      if (declared !== -1 && n !== declared) return issues.add(at(idx), `expected ${declared} ${noun(d)}, got ${n}`);
      if (n === 0) return issues.add(at(idx), d === 0 ? "expected at least one row, got an empty batch" : `expected at least one of ${noun(d)}, got none`);
      if (d === 0 && n > maxBatch) return issues.add(at(idx), `batch of ${n} rows exceeds max_batch ${maxBatch}`);
      actual[d] = n;
    } else if (n !== actual[d]) {
      return issues.add(at(idx), `expected ${actual[d]} ${noun(d)}${declared === -1 ? " like the others" : ""}, got ${n}`);
    }
    for (let i = 0; i < n; i++) {
      idx.push(i);
      rec(v[i], d + 1);
      idx.pop();
      if (issues.more) return;
    }
  };
  rec(value, 0);
  return issues.count === before ? { shape: actual, data } : undefined;
}

/** Inputs whose first dimension is the batch (-1) must agree on its size. */
function checkBatch(m: Manifest, tensors: OipTensor[], issues: Issues, field: (t: OipTensor) => string): number | undefined {
  let batch: number | undefined;
  let first: OipTensor | undefined;
  for (const t of tensors) {
    const spec = m.inputs.find((s) => s.name === t.name)!;
    if (spec.shape[0] !== -1) continue;
    if (batch === undefined) {
      batch = t.shape[0];
      first = t;
    } else if (t.shape[0] !== batch) {
      issues.add(field(t), `batch of ${t.shape[0]} rows, but ${field(first!)} has ${batch}`);
    }
  }
  return batch ?? tensors[0]?.shape[0];
}

export function checkPredictRequest(m: Manifest, body: unknown): Checked<{ inputs: OipTensor[]; batch: number }> {
  const issues = new Issues();
  const inputs: OipTensor[] = [];
  const done = () => issues.result({ inputs, batch: checkBatch(m, inputs, issues, (t) => `inputs${member(t.name)}`) ?? 0 });
  if (!isObject(body)) {
    issues.add("(body)", `expected a JSON object with "inputs" or "instances", got ${describe(body)}`);
    return done();
  }
  for (const k of Object.keys(body)) {
    if (k !== "inputs" && k !== "instances") issues.add(topLevel(k), `unknown field (expected "inputs" or "instances")`);
  }
  const hasInputs = has(body, "inputs");
  const hasInstances = has(body, "instances");
  if (hasInputs && hasInstances) issues.add("(body)", `give either "inputs" or "instances", not both`);
  else if (!hasInputs && !hasInstances) issues.add("inputs", `required (or "instances")`);
  if (issues.count > 0) return done();

  if (hasInputs) {
    const given = body.inputs;
    if (!isObject(given)) {
      issues.add("inputs", `expected an object mapping input names (${names(m.inputs)}) to arrays, got ${describe(given)}`);
      return done();
    }
    for (const k of Object.keys(given)) {
      if (!m.inputs.some((s) => s.name === k)) issues.add(`inputs${member(k)}`, `unknown input (expected: ${names(m.inputs)})`);
    }
    for (const spec of m.inputs) {
      const base = `inputs${member(spec.name)}`;
      if (!has(given, spec.name)) {
        issues.add(base, "required");
        continue;
      }
      const t = readNested(given[spec.name], spec, m.max_batch, issues, (idx) => base + brackets(idx));
      if (t) inputs.push({ name: spec.name, shape: t.shape, datatype: spec.datatype, data: t.data });
      if (issues.more) break;
    }
    return done();
  }

  // instances
  if (m.inputs.length !== 1) {
    issues.add("instances", `this model takes ${m.inputs.length} inputs (${names(m.inputs)}); send {"inputs": {…}} instead`);
    return done();
  }
  const spec = m.inputs[0]!;
  const given = body.instances;
  if (!Array.isArray(given)) {
    issues.add("instances", `expected an array of rows, got ${describe(given)}`);
    return done();
  }
  const fields = spec.fields;
  const objectRow: boolean[] = [];
  const rows = given.map((inst, i) => {
    if (!isObject(inst)) return inst;
    if (!fields) {
      issues.add(`instances[${i}]`, `expected an array (this model's input "${spec.name}" has no named fields), got an object`);
      return inst;
    }
    objectRow[i] = true;
    for (const k of Object.keys(inst)) {
      if (!fields.includes(k)) issues.add(`instances[${i}]${member(k)}`, `unknown field (expected: ${fields.join(", ")})`);
    }
    return fields.map((f) => {
      if (!has(inst, f)) issues.add(`instances[${i}]${member(f)}`, "required");
      return inst[f];
    });
  });
  if (issues.count > 0) return done();
  const at = (idx: readonly number[]) =>
    idx.length >= 2 && objectRow[idx[0]!]
      ? `instances[${idx[0]}]${member(fields![idx[1]!]!)}${brackets(idx.slice(2))}`
      : `instances${brackets(idx)}`;
  const t = readNested(rows, spec, m.max_batch, issues, at);
  if (t) inputs.push({ name: spec.name, shape: t.shape, datatype: spec.datatype, data: t.data });
  return done();
}

function checkParameters(v: unknown, field: string, issues: Issues): Parameters | undefined {
  if (!isObject(v)) {
    issues.add(field, `expected an object, got ${describe(v)}`);
    return undefined;
  }
  const keys = Object.keys(v);
  if (keys.length > 64) issues.add(field, `at most 64 parameters, got ${keys.length}`);
  for (const k of keys) {
    const x = v[k];
    if (k.length > 128) issues.add(`${field}${member(k.slice(0, 32))}`, "parameter name longer than 128 characters");
    else if (!((typeof x === "string" && x.length <= 4096) || (typeof x === "number" && Number.isFinite(x)) || typeof x === "boolean")) {
      issues.add(`${field}${member(k)}`, `expected a string (up to 4096 characters), number or boolean, got ${describe(x)}`);
    }
  }
  return v as Parameters;
}

/** A container's parameters, passed on only when they are what OIP allows (flat primitives). */
function primitiveParameters(v: unknown): Parameters | undefined {
  if (!isObject(v)) return undefined;
  const issues = new Issues();
  const p = checkParameters(v, "parameters", issues);
  return issues.count === 0 ? p : undefined;
}

const INFER_KEYS = ["id", "parameters", "inputs", "outputs"];
const TENSOR_KEYS = ["name", "shape", "datatype", "data", "parameters"];

/** An OIP inference request for this model, rebuilt from what was checked (nothing unchecked is forwarded). */
export function checkInferRequest(m: Manifest, body: unknown): Checked<{ request: OipRequest; batch: number }> {
  const issues = new Issues();
  const request: OipRequest = { inputs: [] };
  const done = () =>
    issues.result({ request, batch: checkBatch(m, request.inputs, issues, (t) => `inputs[${request.inputs.indexOf(t)}]`) ?? 0 });
  if (!isObject(body)) {
    issues.add("(body)", `expected an Open Inference Protocol request object, got ${describe(body)}`);
    return done();
  }
  for (const k of Object.keys(body)) if (!INFER_KEYS.includes(k)) issues.add(topLevel(k), `unknown field (expected: ${INFER_KEYS.join(", ")})`);
  if (has(body, "id")) {
    if (typeof body.id === "string" && body.id.length <= 256) request.id = body.id;
    else issues.add("id", `expected a string of at most 256 characters, got ${describe(body.id)}`);
  }
  if (has(body, "parameters")) request.parameters = checkParameters(body.parameters, "parameters", issues);
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) {
    issues.add("inputs", `expected a non-empty array of tensors (${names(m.inputs)}), got ${describe(body.inputs)}`);
    return done();
  }
  const seen = new Set<string>();
  body.inputs.forEach((t: unknown, i: number) => {
    if (issues.more) return;
    const f = `inputs[${i}]`;
    if (!isObject(t)) return issues.add(f, `expected a tensor object, got ${describe(t)}`);
    for (const k of Object.keys(t)) if (!TENSOR_KEYS.includes(k)) issues.add(`${f}${member(k)}`, `unknown field (expected: ${TENSOR_KEYS.join(", ")})`);
    const spec = typeof t.name === "string" ? m.inputs.find((s) => s.name === t.name) : undefined;
    if (!spec) return issues.add(`${f}.name`, `expected one of: ${names(m.inputs)}, got ${typeof t.name === "string" ? quote(t.name) : describe(t.name)}`);
    if (seen.has(spec.name)) return issues.add(`${f}.name`, `input "${spec.name}" given twice`);
    seen.add(spec.name);
    if (t.datatype !== spec.datatype) issues.add(`${f}.datatype`, `expected "${spec.datatype}", got ${typeof t.datatype === "string" ? quote(t.datatype) : describe(t.datatype)}`);
    const shape = t.shape;
    const rank = spec.shape.length;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      return issues.add(`${f}.shape`, `expected an array of non-negative integers like ${formatShape(spec.shape)}, got ${describe(shape)}`);
    }
    const dims = shape as number[];
    const mismatch = shapeMismatch(spec.shape, dims);
    if (mismatch === -2) return issues.add(`${f}.shape`, `expected ${rank} dimensions like ${formatShape(spec.shape)}, got ${formatShape(dims)}`);
    if (mismatch >= 0) return issues.add(`${f}.shape[${mismatch}]`, `expected ${spec.shape[mismatch]}, got ${dims[mismatch]}`);
    const zero = dims.indexOf(0);
    if (zero >= 0) return issues.add(`${f}.shape[${zero}]`, "expected at least 1, got 0");
    if (dims[0]! > m.max_batch) return issues.add(`${f}.shape[0]`, `batch of ${dims[0]} rows exceeds max_batch ${m.max_batch}`);
    if (!Array.isArray(t.data)) return issues.add(`${f}.data`, `expected an array, got ${describe(t.data)}`);
    const flat: unknown[] = [];
    if (!flattenInto(t.data, flat, rank)) return issues.add(`${f}.data`, `nested deeper than the ${rank} dimensions of the shape`);
    const size = shapeSize(dims);
    if (flat.length !== size) return issues.add(`${f}.data`, `expected ${size} values for shape ${formatShape(dims)}, got ${flat.length}`);
    const bounds = spec.minimum !== undefined || spec.maximum !== undefined ? spec : undefined;
    const before = issues.count;
    for (let k = 0; k < flat.length && !issues.more; k++) {
      const p = checkElement(spec.datatype, flat[k], bounds);
      if (p !== undefined) issues.add(`${f}.data[${k}]`, p);
    }
    if (issues.count > before) return;
    const tensor: OipTensor = { name: spec.name, shape: dims, datatype: spec.datatype, data: flat as Scalar[] };
    if (has(t, "parameters")) tensor.parameters = checkParameters(t.parameters, `${f}.parameters`, issues);
    request.inputs.push(tensor);
  });
  for (const spec of m.inputs) {
    if (!seen.has(spec.name) && !issues.more) issues.add("inputs", `missing input "${spec.name}"`);
  }
  if (has(body, "outputs")) {
    const outs = body.outputs;
    if (!Array.isArray(outs)) {
      issues.add("outputs", `expected an array of {"name": …}, got ${describe(outs)}`);
    } else {
      request.outputs = [];
      const wanted = new Set<string>();
      outs.forEach((o: unknown, i: number) => {
        const f = `outputs[${i}]`;
        if (!isObject(o)) return issues.add(f, `expected an object, got ${describe(o)}`);
        for (const k of Object.keys(o)) if (k !== "name" && k !== "parameters") issues.add(`${f}${member(k)}`, `unknown field (expected: name, parameters)`);
        if (typeof o.name !== "string" || !m.outputs.some((s) => s.name === o.name)) {
          return issues.add(`${f}.name`, `expected one of: ${names(m.outputs)}, got ${typeof o.name === "string" ? quote(o.name) : describe(o.name)}`);
        }
        if (wanted.has(o.name)) return issues.add(`${f}.name`, `output "${o.name}" requested twice`);
        wanted.add(o.name);
        const out: { name: string; parameters?: Parameters } = { name: o.name };
        if (has(o, "parameters")) out.parameters = checkParameters(o.parameters, `${f}.parameters`, issues);
        request.outputs!.push(out);
      });
    }
  }
  return done();
}

/**
 * Checks a container's answer against the manifest: every expected output present with the
 * declared datatype and shape (and the request's batch), its data complete and of the right type,
 * class indices within the labels. Outputs the manifest does not declare are dropped. Returns the
 * reason when the answer is unusable (it goes to the log; the caller gets a 502).
 */
export function checkInferResponse(
  m: Manifest,
  body: unknown,
  expect: { batch?: number; outputs?: readonly string[] },
): { ok: true; value: OipResponse } | { ok: false; problem: string } {
  const bad = (problem: string) => ({ ok: false as const, problem });
  if (!isObject(body)) return bad(`not a JSON object: ${describe(body)}`);
  if (!Array.isArray(body.outputs)) return bad(`"outputs" is ${describe(body.outputs)}, not an array`);
  const outputs: OipTensor[] = [];
  for (const [i, o] of (body.outputs as unknown[]).entries()) {
    if (!isObject(o)) return bad(`outputs[${i}] is ${describe(o)}`);
    if (typeof o.name !== "string") return bad(`outputs[${i}].name is ${describe(o.name)}`);
    const spec = m.outputs.find((s) => s.name === o.name);
    if (!spec) continue;
    const w = `output "${spec.name}"`;
    if (outputs.some((t) => t.name === spec.name)) return bad(`${w} appears twice`);
    if (o.datatype !== spec.datatype) {
      return bad(`${w}: datatype ${typeof o.datatype === "string" ? quote(o.datatype) : describe(o.datatype)}, the manifest says ${spec.datatype}`);
    }
    const shape = o.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) return bad(`${w}: shape is not a list of sizes`);
    const dims = shape as number[];
    if (shapeMismatch(spec.shape, dims) !== -1) return bad(`${w}: shape ${formatShape(dims)} does not fit ${formatShape(spec.shape)}`);
    if (spec.shape[0] === -1 && expect.batch !== undefined && dims[0] !== expect.batch) {
      return bad(`${w}: ${dims[0]} rows for a batch of ${expect.batch}`);
    }
    if (!Array.isArray(o.data)) return bad(`${w}: data is ${describe(o.data)}`);
    const flat: unknown[] = [];
    if (!flattenInto(o.data, flat, dims.length)) return bad(`${w}: data nested deeper than its shape`);
    if (flat.length !== shapeSize(dims)) return bad(`${w}: ${flat.length} values for shape ${formatShape(dims)}`);
    const labels = spec.labels && isIntegerType(spec.datatype) ? spec.labels.length : undefined;
    for (let k = 0; k < flat.length; k++) {
      const p = checkElement(spec.datatype, flat[k]);
      if (p !== undefined) return bad(`${w}: data[${k}]: ${p}`);
      if (labels !== undefined && ((flat[k] as number) < 0 || (flat[k] as number) >= labels)) {
        return bad(`${w}: data[${k}]: class ${flat[k]} has no label (${labels} labels)`);
      }
    }
    const t: OipTensor = { name: spec.name, shape: dims, datatype: spec.datatype, data: flat as Scalar[] };
    const params = primitiveParameters(o.parameters);
    if (params) t.parameters = params;
    outputs.push(t);
  }
  for (const name of expect.outputs ?? m.outputs.map((s) => s.name)) {
    if (!outputs.some((t) => t.name === name)) return bad(`output "${name}" is missing`);
  }
  const value: OipResponse = { model_name: m.name, model_version: m.version, outputs };
  if (typeof body.id === "string") value.id = body.id;
  const params = primitiveParameters(body.parameters);
  if (params) value.parameters = params;
  return { ok: true, value };
}

/** The predict answer: outputs as nested arrays, and label names where the manifest has them. */
export function toPredictResponse(m: Manifest, r: OipResponse): PredictResponse {
  const outputs: Record<string, unknown> = {};
  let labels: Record<string, unknown> | undefined;
  for (const t of r.outputs) {
    outputs[t.name] = unflatten(t.data, t.shape);
    const spec = m.outputs.find((s) => s.name === t.name)!;
    if (!spec.labels) continue;
    labels ??= {};
    labels[t.name] = isIntegerType(spec.datatype) ? unflatten(t.data.map((v) => spec.labels![v as number]), t.shape) : spec.labels;
  }
  const out: PredictResponse = { model: m.name, version: m.version, outputs };
  if (labels) out.labels = labels;
  return out;
}

/** A small valid predict request for documentation: one row, mid-range values. */
export function examplePredictRequest(m: Manifest): Record<string, unknown> {
  const value = (s: InputSpec): Scalar => {
    if (s.datatype === "BOOL") return false;
    if (s.datatype === "BYTES") return "text";
    const lo = s.minimum ?? 0;
    const hi = s.maximum ?? (s.minimum !== undefined ? s.minimum + 1 : 1);
    const mid = (lo + hi) / 2;
    return isIntegerType(s.datatype) ? Math.round(mid) : mid;
  };
  const tensor = (s: InputSpec) => unflatten(new Array(shapeSize(s.shape.map((d) => (d === -1 ? 1 : d)))).fill(value(s)), s.shape.map((d) => (d === -1 ? 1 : d)));
  const only = m.inputs.length === 1 ? m.inputs[0]! : undefined;
  if (only?.fields) return { instances: [Object.fromEntries(only.fields.map((f) => [f, value(only)]))] };
  return { inputs: Object.fromEntries(m.inputs.map((s) => [s.name, tensor(s)])) };
}
