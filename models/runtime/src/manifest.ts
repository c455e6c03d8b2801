import { readFileSync } from "node:fs";
import { isAbsolute, join, normalize } from "node:path";

/** Open Inference Protocol tensor datatypes this runtime can exchange with onnxruntime. */
export const DATATYPES = ["BOOL", "INT32", "INT64", "FP32", "FP64", "BYTES"] as const;
export type Datatype = (typeof DATATYPES)[number];

export interface TensorSpec {
  name: string;
  datatype: Datatype;
  /** -1 marks a variable dimension; the first one, when variable, is the batch. */
  shape: number[];
  description?: string;
  /** Names of the positions along the last dimension, e.g. the features of one row. */
  fields?: string[];
  minimum?: number;
  maximum?: number;
  /** Class names for a label output, indexed by the label's value. */
  labels?: string[];
}

/** models/<name>/manifest.json: the contract between the training scripts, this runtime and the server. */
export interface Manifest {
  name: string;
  version: string;
  framework: string;
  description: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  roles: string[];
  artifact: string;
  data: string;
  max_batch: number;
}

export class ManifestError extends Error {}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");

function text(obj: Json, key: string, where: string, optional = false): string | undefined {
  const v = obj[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== "string" || v.length === 0) throw new ManifestError(`${where}.${key} must be a non-empty string`);
  return v;
}

function tensorSpec(raw: unknown, where: string): TensorSpec {
  if (!isObject(raw)) throw new ManifestError(`${where} must be an object`);
  const name = text(raw, "name", where)!;
  const datatype = raw.datatype;
  if (typeof datatype !== "string" || !(DATATYPES as readonly string[]).includes(datatype)) {
    throw new ManifestError(`${where}.datatype must be one of ${DATATYPES.join(", ")}`);
  }
  const shape = raw.shape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && (d === -1 || d > 0))) {
    throw new ManifestError(`${where}.shape must be a non-empty array of positive integers or -1`);
  }
  const spec: TensorSpec = { name, datatype: datatype as Datatype, shape: shape as number[] };
  spec.description = text(raw, "description", where, true);
  if (raw.fields !== undefined) {
    const last = spec.shape[spec.shape.length - 1]!;
    if (!isStringArray(raw.fields) || (last !== -1 && raw.fields.length !== last)) {
      throw new ManifestError(`${where}.fields must list ${last === -1 ? "the" : last} names of the positions along the last dimension`);
    }
    spec.fields = raw.fields;
  }
  for (const bound of ["minimum", "maximum"] as const) {
    const v = raw[bound];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v)) throw new ManifestError(`${where}.${bound} must be a finite number`);
    spec[bound] = v;
  }
  if (spec.minimum !== undefined && spec.maximum !== undefined && spec.minimum > spec.maximum) {
    throw new ManifestError(`${where}.minimum is above ${where}.maximum`);
  }
  if (raw.labels !== undefined) {
    if (!isStringArray(raw.labels) || raw.labels.length === 0) throw new ManifestError(`${where}.labels must be an array of strings`);
    spec.labels = raw.labels;
  }
  return spec;
}

function tensorList(obj: Json, key: "inputs" | "outputs"): TensorSpec[] {
  const list = obj[key];
  if (!Array.isArray(list) || list.length === 0) throw new ManifestError(`${key} must be a non-empty array`);
  const specs = list.map((t, i) => tensorSpec(t, `${key}[${i}]`));
  const names = new Set(specs.map((s) => s.name));
  if (names.size !== specs.length) throw new ManifestError(`${key} has duplicate tensor names`);
  return specs;
}

/** Validates a parsed manifest; the error names the first field that is wrong. Unknown keys are kept for newer readers. */
export function parseManifest(raw: unknown): Manifest {
  if (!isObject(raw)) throw new ManifestError("the manifest must be a JSON object");
  const name = text(raw, "name", "manifest")!;
  // The name is a URL path segment of every Open Inference Protocol route.
  if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(name)) {
    throw new ManifestError("name must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit");
  }
  const artifact = text(raw, "artifact", "manifest")!;
  if (isAbsolute(artifact) || normalize(artifact).startsWith("..")) {
    throw new ManifestError("artifact must be a path inside the model directory");
  }
  const roles = raw.roles;
  if (!isStringArray(roles) || roles.length === 0 || roles.some((r) => r.length === 0)) {
    throw new ManifestError("roles must be a non-empty array of role names");
  }
  const maxBatch = raw.max_batch;
  if (!Number.isInteger(maxBatch) || (maxBatch as number) < 1) throw new ManifestError("max_batch must be a positive integer");
  return {
    ...raw,
    name,
    version: text(raw, "version", "manifest")!,
    framework: text(raw, "framework", "manifest")!,
    description: text(raw, "description", "manifest")!,
    inputs: tensorList(raw, "inputs"),
    outputs: tensorList(raw, "outputs"),
    roles,
    artifact,
    data: text(raw, "data", "manifest")!,
    max_batch: maxBatch as number,
  };
}

export function loadManifest(dir: string): Manifest {
  const file = join(dir, "manifest.json");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ManifestError(`${file}: ${(err as Error).message}`);
  }
  try {
    return parseManifest(raw);
  } catch (err) {
    throw new ManifestError(`${file}: ${(err as Error).message}`);
  }
}
