import { existsSync, readdirSync } from "node:fs";
import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { loadManifest, type TensorSpec } from "../runtime/src/manifest.ts";
import { decodeInput, encodeOutput, MAX_ELEMENTS, RequestError } from "../runtime/src/tensors.ts";
import { reference } from "./helpers.ts";
import { modelDir } from "../../test/harness/components/models.ts";

const committed = readdirSync(modelDir(".")).filter((d) => existsSync(modelDir(`${d}/manifest.json`)));

describe("committed manifests", () => {
  it("cover the ONNX models and the MLServer model", () => {
    expect(committed.sort()).toEqual(["diabetes-progression", "iris-classifier", "mlserver-iris", "toxicity-descriptors"]);
  });

  it.each(committed)("%s is valid, named after its directory, and its reference matches it", (name) => {
    const manifest = loadManifest(modelDir(name));
    expect(manifest.name).toBe(name);
    expect(existsSync(modelDir(`${name}/${manifest.artifact}`))).toBe(true);
    const ref = reference(name === "mlserver-iris" ? "iris-classifier" : name);
    expect(ref.inputs.map((t) => t.name)).toEqual(manifest.inputs.map((t) => t.name));
  });

  it("lets at least one model require more than model:invoke", () => {
    const roles = committed.map((n) => loadManifest(modelDir(n)).roles);
    expect(roles).toContainEqual(["model:admin"]);
  });
});

const spec = (datatype: TensorSpec["datatype"], extra: Partial<TensorSpec> = {}): TensorSpec => ({
  name: "x", datatype, shape: [-1, 2], ...extra,
});
const decode = (s: TensorSpec, data: unknown[], shape = [data.length / 2, 2]) => decodeInput(s, { datatype: s.datatype, shape, data }, "inputs[0]", 8);

describe("request tensors", () => {
  it("converts every datatype to the onnxruntime type", () => {
    expect(decode(spec("FP32"), [1.5, 2]).data).toEqual(Float32Array.from([1.5, 2]));
    expect(decode(spec("FP64"), [0.1, 2]).data).toEqual(Float64Array.from([0.1, 2]));
    expect(decode(spec("INT32"), [-5, 7]).data).toEqual(Int32Array.from([-5, 7]));
    expect(decode(spec("INT64"), [2 ** 40, -1]).data).toEqual(BigInt64Array.from([2n ** 40n, -1n]));
    expect(decode(spec("BOOL"), [true, false]).data).toEqual(Uint8Array.from([1, 0]));
    expect(decode(spec("BYTES"), ["a", "b"]).data).toEqual(["a", "b"]);
  });

  it.each([
    [spec("INT32"), [1.5, 2], "inputs[0].data[0] must be a 32-bit integer, got 1.5"],
    [spec("INT32"), [2 ** 31, 2], "must be a 32-bit integer"],
    [spec("INT64"), [2 ** 60, 2], "must be an integer"],
    [spec("BOOL"), [1, 0], "inputs[0].data[0] must be true or false, got 1"],
    [spec("BYTES"), ["a", 1], "inputs[0].data[1] must be a string, got 1"],
    [spec("FP32", { fields: ["a", "b"], maximum: 1 }), [0, 0, 0, 2], "inputs[0].data[3] (b of row 1) must be at most 1, got 2"],
  ])("refuses %j with %j", (s, data, message) => {
    expect(() => decode(s, data)).toThrow(RequestError);
    expect(() => decode(s, data)).toThrow(message);
  });

  it("refuses a tensor larger than the cap before looking at its data", () => {
    const wide: TensorSpec = { name: "x", datatype: "FP32", shape: [-1, -1] };
    expect(() => decodeInput(wide, { datatype: "FP32", shape: [1, MAX_ELEMENTS + 1], data: [] }, "inputs[0]", 8)).toThrow(
      `at most ${MAX_ELEMENTS} are accepted`,
    );
  });

  it("returns outputs as flat JSON values in Open Inference Protocol datatypes", () => {
    expect(encodeOutput("l", new ort.Tensor("int64", BigInt64Array.from([0n, 2n]), [2]))).toEqual({ name: "l", datatype: "INT64", shape: [2], data: [0, 2] });
    expect(encodeOutput("b", new ort.Tensor("bool", Uint8Array.from([1, 0]), [2])).data).toEqual([true, false]);
    expect(encodeOutput("p", new ort.Tensor("float32", Float32Array.from([0.25, 0.75]), [1, 2]))).toEqual({
      name: "p", datatype: "FP32", shape: [1, 2], data: [0.25, 0.75],
    });
  });
});
