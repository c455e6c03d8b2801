import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runRoot } from "../../test/harness/paths.ts";
import { startMlserver, type Mlserver } from "../../test/harness/mlserver.ts";
import type { Manifest } from "../runtime/src/manifest.ts";
import { expectClose, post, readJson, reference } from "./helpers.ts";
import { modelDir } from "../../test/harness/components/models.ts";

/**
 * MLServer from PyPI serving the native scikit-learn pipeline that train_iris.py pickled from the
 * same fit as the ONNX iris model: both must classify the reference flowers alike.
 */
let mlserver: Mlserver;
const manifest = readJson<Manifest>(modelDir("mlserver-iris"), "manifest.json");
const onnxReference = reference("iris-classifier");
const features = onnxReference.inputs[0]!;

beforeAll(async () => {
  // The first run installs MLServer (about 75 s and 500 MB here); later runs reuse it.
  mlserver = await startMlserver(modelDir("mlserver-iris"), join(runRoot, `mlserver-${process.pid}-${Date.now()}`));
}, 600_000);

afterAll(async () => {
  await mlserver?.stop();
});

describe("MLServer serving the native scikit-learn iris model", () => {
  it("describes the tensors its manifest declares", async () => {
    const meta = await (await fetch(`${mlserver.url}/v2/models/${manifest.name}`)).json();
    const tensors = (list: Manifest["inputs"]) => list.map(({ name, datatype, shape }) => ({ name, datatype, shape }));
    expect(meta).toMatchObject({ name: manifest.name, versions: [manifest.version], inputs: tensors(manifest.inputs), outputs: tensors(manifest.outputs) });
  });

  it("predicts the labels the ONNX model recorded, with the probabilities scikit-learn computed", async () => {
    const { status, json } = await post(`${mlserver.url}/v2/models/${manifest.name}/infer`, {
      inputs: [{ ...features, datatype: "FP64" }],
      outputs: [{ name: "predict" }, { name: "predict_proba" }],
    });
    expect(status, JSON.stringify(json)).toBe(200);
    const [predict, proba] = json.outputs;
    const rows = features.shape[0]!;
    expect(predict).toMatchObject({ name: "predict", datatype: "INT64", shape: [rows, 1] });
    expect(predict.data).toEqual(onnxReference.outputs[0]!.data);
    expect(proba).toMatchObject({ name: "predict_proba", datatype: "FP64", shape: [rows, 3] });
    expectClose(proba.data, onnxReference.framework_outputs.probabilities as number[], 1e-9);
  });

  // What the altgate server must expect from an unmodified MLServer: it does not validate tensors
  // against model-settings.json, so a wrong shape reaches scikit-learn and comes back as a plain-text 500.
  it("answers malformed requests with its own error formats and keeps serving", async () => {
    const infer = (name: string, body: string) =>
      fetch(`${mlserver.url}/v2/models/${name}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const wrongWidth = await infer(manifest.name, JSON.stringify({ inputs: [{ name: "features", shape: [1, 3], datatype: "FP64", data: [1, 2, 3] }] }));
    expect([wrongWidth.status, await wrongWidth.text()]).toEqual([500, "Internal Server Error"]);
    const notJson = await infer(manifest.name, "{");
    expect([notJson.status, (await notJson.json()).detail[0].type]).toEqual([422, "json_invalid"]);
    const unknown = await infer("nope", JSON.stringify({ inputs: [] }));
    expect([unknown.status, await unknown.json()]).toEqual([404, { error: "Model nope not found" }]);
    expect((await fetch(`${mlserver.url}/v2/health/ready`)).status).toBe(200);
  });
});
