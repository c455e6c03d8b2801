import { existsSync } from "node:fs";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { loadManifest, ManifestError, type Manifest, type TensorSpec } from "./manifest.ts";
import { ORT_TYPE } from "./tensors.ts";

export interface LoadedModel {
  manifest: Manifest;
  dir: string;
  session: ort.InferenceSession;
}

export interface LoadOptions {
  /** Threads of one inference; requests already run side by side, so 1 suits small models. */
  threads: number;
}

const shapeText = (dims: readonly (number | string)[]) => `[${dims.map((d) => (typeof d === "number" ? d : -1)).join(", ")}]`;

/** A manifest that disagrees with its graph would make the server validate requests against the wrong contract. */
function checkAgainstGraph(
  kind: "input" | "output",
  specs: TensorSpec[],
  metadata: readonly ort.InferenceSession.ValueMetadata[],
  where: string,
): void {
  const graph = new Map(metadata.map((m) => [m.name, m]));
  const declared = specs.map((s) => s.name);
  if (declared.length !== graph.size || declared.some((n) => !graph.has(n))) {
    throw new ManifestError(`${where}: manifest ${kind}s are ${declared.join(", ")}; the ONNX graph has ${[...graph.keys()].join(", ")}`);
  }
  for (const spec of specs) {
    const m = graph.get(spec.name)!;
    const sameType = m.isTensor && m.type === ORT_TYPE[spec.datatype];
    const sameShape = m.isTensor && shapeText(m.shape) === shapeText(spec.shape);
    if (!sameType || !sameShape) {
      const actual = m.isTensor ? `${m.type} ${shapeText(m.shape)}` : "not a tensor";
      throw new ManifestError(`${where}: ${kind} ${spec.name} is ${spec.datatype} ${shapeText(spec.shape)} in the manifest but ${actual} in the ONNX graph`);
    }
  }
}

export async function loadModel(dir: string, opts: LoadOptions): Promise<LoadedModel> {
  const manifest = loadManifest(dir);
  const artifact = join(dir, manifest.artifact);
  if (!artifact.endsWith(".onnx")) {
    throw new ManifestError(`${dir}: artifact ${manifest.artifact} is not an ONNX file; this runtime serves ONNX models only`);
  }
  if (!existsSync(artifact)) throw new ManifestError(`${dir}: artifact ${manifest.artifact} does not exist`);
  const session = await ort.InferenceSession.create(artifact, {
    executionProviders: ["cpu"],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  try {
    checkAgainstGraph("input", manifest.inputs, session.inputMetadata, dir);
    checkAgainstGraph("output", manifest.outputs, session.outputMetadata, dir);
  } catch (err) {
    await session.release();
    throw err;
  }
  return { manifest, dir, session };
}

export async function loadModels(dirs: string[], opts: LoadOptions): Promise<Map<string, LoadedModel>> {
  const models = new Map<string, LoadedModel>();
  try {
    for (const dir of dirs) {
      const model = await loadModel(dir, opts);
      const clash = models.get(model.manifest.name);
      if (clash) {
        await model.session.release();
        throw new ManifestError(`${dir}: model name ${model.manifest.name} is already served from ${clash.dir}`);
      }
      models.set(model.manifest.name, model);
    }
  } catch (err) {
    await releaseModels(models);
    throw err;
  }
  return models;
}

export async function releaseModels(models: Map<string, LoadedModel>): Promise<void> {
  for (const m of models.values()) await m.session.release().catch(() => undefined);
  models.clear();
}
