import type ort from "onnxruntime-node";
import type { LoadedModel } from "./models.ts";
import { decodeInput, encodeOutput, RequestError, show, type Tensor } from "./tensors.ts";

export interface InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: Tensor[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function feeds(model: LoadedModel, inputs: unknown): Record<string, ort.Tensor> {
  const { manifest } = model;
  const expected = manifest.inputs.map((s) => s.name).join(", ");
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new RequestError(`inputs must be a non-empty array of tensors; ${manifest.name} takes ${expected}`);
  }
  const result: Record<string, ort.Tensor> = {};
  inputs.forEach((raw, i) => {
    const where = `inputs[${i}]`;
    if (!isObject(raw)) throw new RequestError(`${where} must be an object with name, shape, datatype and data`);
    if (typeof raw.name !== "string") throw new RequestError(`${where}.name must be a string; ${manifest.name} takes ${expected}`);
    const spec = manifest.inputs.find((s) => s.name === raw.name);
    if (!spec) throw new RequestError(`${where}.name: ${manifest.name} has no input ${show(raw.name)}; it takes ${expected}`);
    if (result[spec.name]) throw new RequestError(`${where}.name: input ${spec.name} is given twice`);
    // The binary tensor extension puts data after the JSON; this runtime speaks JSON only.
    if (isObject(raw.parameters) && raw.parameters.binary_data_size !== undefined) {
      throw new RequestError(`${where}.parameters.binary_data_size: binary tensor data is not supported; send data as JSON`);
    }
    result[spec.name] = decodeInput(spec, raw, where, manifest.max_batch);
  });
  const missing = manifest.inputs.filter((s) => !result[s.name]).map((s) => s.name);
  if (missing.length > 0) throw new RequestError(`inputs: missing ${missing.join(", ")}`);
  const batches = new Set(manifest.inputs.filter((s) => s.shape[0] === -1).map((s) => result[s.name]!.dims[0]));
  if (batches.size > 1) throw new RequestError(`inputs: every input must have the same batch size, got ${[...batches].join(" and ")}`);
  return result;
}

function fetches(model: LoadedModel, outputs: unknown): string[] {
  const all = model.manifest.outputs.map((s) => s.name);
  if (outputs === undefined) return all;
  if (!Array.isArray(outputs) || outputs.length === 0) throw new RequestError("outputs, when given, must be a non-empty array of {\"name\": ...}");
  const names = outputs.map((o, i) => {
    const name = isObject(o) ? o.name : undefined;
    if (typeof name !== "string" || !all.includes(name)) {
      throw new RequestError(`outputs[${i}].name: ${model.manifest.name} has no output ${show(name)}; it has ${all.join(", ")}`);
    }
    return name;
  });
  return [...new Set(names)];
}

/** Validates an Open Inference Protocol inference request, runs it, and shapes the response. */
export async function infer(model: LoadedModel, body: unknown): Promise<InferResponse> {
  if (!isObject(body)) throw new RequestError('the request body must be a JSON object with an "inputs" array');
  if (body.id !== undefined && typeof body.id !== "string") throw new RequestError("id, when given, must be a string");
  const input = feeds(model, body.inputs);
  const wanted = fetches(model, body.outputs);
  const results = await model.session.run(input, wanted);
  return {
    model_name: model.manifest.name,
    model_version: model.manifest.version,
    ...(body.id !== undefined ? { id: body.id } : {}),
    outputs: wanted.map((name) => encodeOutput(name, results[name]!)),
  };
}
