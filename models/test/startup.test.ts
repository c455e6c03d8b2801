import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig, UsageError } from "../runtime/src/config.ts";
import { loadModel, loadModels } from "../runtime/src/models.ts";
import { readJson } from "./helpers.ts";
import { MAIN, modelDir } from "../../test/harness/components/models.ts";

const scratch = mkdtempSync(join(tmpdir(), "altgate-models-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A model directory holding the iris artifact and a manifest changed by `edit`. */
function irisVariant(name: string, edit: (m: any) => void): string {
  const dir = join(scratch, name);
  const manifest = readJson(modelDir("iris-classifier"), "manifest.json");
  edit(manifest);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(modelDir("iris-classifier"), "model.onnx"), join(dir, "model.onnx"));
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
  return dir;
}

function runtime(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("command line", () => {
  it("prints usage with --help and exits 0", () => {
    const r = runtime(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("--models <dirs>");
    expect(r.out).toContain("POST /v2/models/{name}/infer");
  });

  it("exits 2 on a usage error, naming it and pointing at --help", () => {
    const r = runtime(["--models", modelDir("iris-classifier"), "--port", "http"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--port must be an integer from 1 to 65535, got "http"');
    expect(r.err).toContain("--help");
  });

  it.each([
    [[], "--models is required"],
    [["--models", modelDir("iris-classifier")], "--port is required"],
    [["--models", modelDir("iris-classifier"), "--port", "70000"], "--port must be an integer"],
    [["--models", "/nonexistent", "--port", "8000"], "/nonexistent is not a directory"],
    [["--models", scratch, "--port", "8000"], "has no manifest.json"],
    [["--models", " , ", "--port", "8000"], "--models names no directory"],
    [["--models", modelDir("iris-classifier"), "--port", "8000", "--threads", "0"], "--threads must be an integer from 1"],
    [["--models", modelDir("iris-classifier"), "--port", "8000", "--max-body-bytes", "10"], "--max-body-bytes must be an integer from 1024"],
    [["--modles", "x"], "Unknown option '--modles'"],
    [["--models", modelDir("iris-classifier"), "--port", "8000", "extra"], "Unexpected argument 'extra'"],
  ])("refuses %j", (args, message) => {
    expect(() => parseConfig(args, {})).toThrow(UsageError);
    expect(() => parseConfig(args, {})).toThrow(message);
  });

  it("takes its options from the environment too, the command line winning", () => {
    const cfg = parseConfig(["--port", "9001"], { ALTGATE_MODELS: `${modelDir("iris-classifier")}, ${modelDir("diabetes-progression")}`, PORT: "9000", ALTGATE_ORT_THREADS: "2" });
    expect(cfg).toEqual({
      modelDirs: [modelDir("iris-classifier"), modelDir("diabetes-progression")],
      port: 9001,
      host: "127.0.0.1",
      threads: 2,
      maxBodyBytes: 1048576,
    });
    expect(() => parseConfig([], { ALTGATE_MODELS: modelDir("iris-classifier"), PORT: "1e3" })).toThrow(UsageError);
  });
});

describe("model loading refuses to serve a model that contradicts its manifest", () => {
  it("exits 1, naming the model directory and the contradiction", () => {
    const dir = irisVariant("wrong-width", (m) => {
      m.inputs[0].shape = [-1, 5];
      m.inputs[0].fields.push("sepal_colour");
    });
    const r = runtime(["--models", dir, "--port", "8000"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`cannot load models: ${dir}: input features is FP32 [-1, 5] in the manifest but float32 [-1, 4] in the ONNX graph`);
  });

  it.each([
    ["wrong-type", (m: any) => (m.outputs[0].datatype = "INT32"), "output label is INT32 [-1] in the manifest but int64 [-1]"],
    ["wrong-output", (m: any) => (m.outputs[1].name = "scores"), "manifest outputs are label, scores; the ONNX graph has label, probabilities"],
    ["no-roles", (m: any) => (m.roles = []), "roles must be a non-empty array"],
    ["bad-name", (m: any) => (m.name = "Iris Classifier"), "name must be 1-63 characters"],
    ["bad-datatype", (m: any) => (m.inputs[0].datatype = "float32"), "inputs[0].datatype must be one of"],
    ["bad-fields", (m: any) => m.inputs[0].fields.pop(), "inputs[0].fields must list 4 names"],
    ["bad-bounds", (m: any) => (m.inputs[0].minimum = 1000), "inputs[0].minimum is above inputs[0].maximum"],
    ["no-max-batch", (m: any) => delete m.max_batch, "max_batch must be a positive integer"],
    ["escaping-artifact", (m: any) => (m.artifact = "../iris-classifier/model.onnx"), "artifact must be a path inside the model directory"],
    ["missing-artifact", (m: any) => (m.artifact = "other.onnx"), "artifact other.onnx does not exist"],
  ])("%s", async (name, edit, message) => {
    await expect(loadModel(irisVariant(name, edit), { threads: 1 })).rejects.toThrow(message);
  });

  it("refuses a native (non-ONNX) model and two models of the same name", async () => {
    await expect(loadModel(modelDir("mlserver-iris"), { threads: 1 })).rejects.toThrow(
      "is not an ONNX file; this runtime serves ONNX models only",
    );
    await expect(loadModels([modelDir("iris-classifier"), irisVariant("copy", () => undefined)], { threads: 1 })).rejects.toThrow(
      "model name iris-classifier is already served from",
    );
  });
});
