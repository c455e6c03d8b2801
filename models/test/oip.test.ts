import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../runtime/src/manifest.ts";
import { expectTensorsEqual, post, readJson, reference } from "./helpers.ts";
import { modelDir, ONNX_MODELS, startRuntime, type Runtime } from "../../test/harness/components/models.ts";

let runtime: Runtime;

beforeAll(async () => {
  runtime = await startRuntime(ONNX_MODELS);
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
});

describe("health", () => {
  it("is live and ready once every model is loaded", async () => {
    for (const path of ["/v2/health/live", "/v2/health/ready"]) {
      const res = await fetch(`${runtime.url}${path}`);
      expect(res.status, path).toBe(200);
    }
    expect(await (await fetch(`${runtime.url}/v2`)).json()).toMatchObject({ name: "altgate-model-runtime" });
  });
});

describe.each(ONNX_MODELS)("%s", (name) => {
  const manifest = readJson<Manifest>(modelDir(name), "manifest.json");
  const ref = reference(name);
  const tensors = (list: Manifest["inputs"]) => list.map(({ name, datatype, shape }) => ({ name, datatype, shape }));

  it("describes itself as its manifest does", async () => {
    const res = await fetch(`${runtime.url}/v2/models/${name}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name,
      versions: [manifest.version],
      platform: "onnxruntime",
      inputs: tensors(manifest.inputs),
      outputs: tensors(manifest.outputs),
    });
    const ready = await fetch(`${runtime.url}/v2/models/${name}/ready`);
    expect([ready.status, await ready.json()]).toEqual([200, { name, ready: true }]);
  });

  it("answers the reference inputs with the outputs the training script recorded", async () => {
    const { status, json } = await post(`${runtime.url}/v2/models/${name}/infer`, { id: `ref-${name}`, inputs: ref.inputs });
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({ model_name: name, model_version: manifest.version, id: `ref-${name}` });
    expect(json.outputs.map((o: { name: string }) => o.name)).toEqual(ref.outputs.map((o) => o.name));
    ref.outputs.forEach((expected, i) => expectTensorsEqual(json.outputs[i], expected));
  });

  it("gives the same answer under the versioned route, for nested data, and one row at a time", async () => {
    const input = ref.inputs[0]!;
    const [rows, width] = input.shape as [number, number];
    const nested = Array.from({ length: rows }, (_, r) => input.data.slice(r * width, (r + 1) * width));
    const versioned = await post(`${runtime.url}/v2/models/${name}/versions/${manifest.version}/infer`, {
      inputs: [{ ...input, data: nested }],
    });
    expect(versioned.status).toBe(200);
    ref.outputs.forEach((expected, i) => expectTensorsEqual(versioned.json.outputs[i], expected));

    const labels = ref.outputs.find((o) => o.datatype === "INT64");
    for (let r = 0; r < rows && labels; r++) {
      const one = await post(`${runtime.url}/v2/models/${name}/infer`, {
        inputs: [{ ...input, shape: [1, width], data: nested[r] }],
        outputs: [{ name: labels.name }],
      });
      expect(one.json.outputs).toHaveLength(1);
      expect(one.json.outputs[0].data, `row ${r}`).toEqual([labels.data[r]]);
    }
  });
});
