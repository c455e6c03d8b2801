import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive } from "../../test/harness/processes.ts";
import { post, reference } from "./helpers.ts";
import { startRuntime, type Runtime } from "../../test/harness/components/models.ts";

let runtime: Runtime;
const iris = reference("iris-classifier");
const features = iris.inputs[0]!;
const irisInfer = () => `${runtime.url}/v2/models/iris-classifier/infer`;
const withInput = (changes: Record<string, unknown>) => ({ inputs: [{ ...features, ...changes }] });

beforeAll(async () => {
  runtime = await startRuntime(["iris-classifier", "toxicity-descriptors"]);
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
});

/** Each case: the body, the status, and words the error must contain so a client can fix its request. */
const cases: [string, unknown, number, string[]][] = [
  ["non-JSON body", "features=5.1,3.5", 400, ["not valid JSON"]],
  ["empty body", "", 400, ["not valid JSON"]],
  ["JSON that is not an object", "[1, 2]", 400, ["JSON object", "inputs"]],
  ["no inputs", {}, 400, ["inputs", "features"]],
  ["empty inputs", { inputs: [] }, 400, ["inputs", "features"]],
  ["an input that is not an object", { inputs: [42] }, 400, ["inputs[0]"]],
  ["unknown input name", withInput({ name: "petals" }), 400, ["inputs[0].name", "petals", "features"]],
  ["missing name", withInput({ name: undefined }), 400, ["inputs[0].name"]],
  ["the input twice", { inputs: [features, features] }, 400, ["inputs[1].name", "twice"]],
  ["wrong datatype", withInput({ datatype: "FP64" }), 400, ["inputs[0].datatype", "FP32", "FP64"]],
  ["unknown datatype", withInput({ datatype: "FLOAT" }), 400, ["inputs[0].datatype", "FP32"]],
  ["wrong width", withInput({ shape: [11, 5] }), 400, ["inputs[0].shape", "[11, 5]", "[-1, 4]"]],
  ["wrong rank", withInput({ shape: [44] }), 400, ["inputs[0].shape", "[-1, 4]"]],
  ["zero batch", withInput({ shape: [0, 4], data: [] }), 400, ["inputs[0].shape", "positive"]],
  ["batch above max_batch", withInput({ shape: [65, 4], data: Array(260).fill(1) }), 400, ["inputs[0].shape", "1 to 64"]],
  ["shape and data disagree", withInput({ shape: [2, 4] }), 400, ["inputs[0].data", "44", "8"]],
  ["shape not an array", withInput({ shape: "11x4" }), 400, ["inputs[0].shape"]],
  ["data not an array", withInput({ data: "5.1,3.5" }), 400, ["inputs[0].data", "array"]],
  ["data nested too deep", withInput({ shape: [1, 4], data: [[[5.1], 3.5, 1.4, 0.2]] }), 400, ["inputs[0].data", "nested"]],
  ["a string among numbers", withInput({ shape: [1, 4], data: [5.1, "3.5", 1.4, 0.2] }), 400, ["inputs[0].data[1]", "sepal_width_cm", "number"]],
  ["null among numbers", withInput({ shape: [1, 4], data: [5.1, 3.5, null, 0.2] }), 400, ["inputs[0].data[2]", "petal_length_cm"]],
  ["a value below the minimum", withInput({ shape: [2, 4], data: [5.1, 3.5, 1.4, 0.2, 5.1, 3.5, 1.4, -1] }), 400, ["inputs[0].data[7]", "petal_width_cm of row 1", "at least 0"]],
  ["a value above the maximum", withInput({ shape: [1, 4], data: [500, 3.5, 1.4, 0.2] }), 400, ["inputs[0].data[0]", "sepal_length_cm", "at most 100"]],
  ["unknown output", { ...withInput({}), outputs: [{ name: "species" }] }, 400, ["outputs[0].name", "species", "label, probabilities"]],
  ["outputs not an array", { ...withInput({}), outputs: "label" }, 400, ["outputs"]],
  ["non-string id", { ...withInput({}), id: 7 }, 400, ["id"]],
  ["a deeply nested datatype", `{"inputs":[{"name":"features","datatype":${"[".repeat(100_000)}${"]".repeat(100_000)}}]}`, 400, ["inputs[0].datatype", "got an array"]],
  ["a very long input name", withInput({ name: "x".repeat(100_000) }), 400, ["inputs[0].name", `"${"x".repeat(64)}…"`]],
  ["binary tensor extension", withInput({ parameters: { binary_data_size: 176 } }), 400, ["binary_data_size", "not supported"]],
];

describe("bad requests get a 400 that names what is wrong", () => {
  it.each(cases)("%s", async (_, body, status, words) => {
    const res = await post(irisInfer(), body);
    expect(res.status).toBe(status);
    expect(Object.keys(res.json)).toEqual(["error"]);
    for (const w of words) expect(res.json.error).toContain(w);
  });
});

describe("routing", () => {
  it("answers 404 for an unknown model, listing the served ones", async () => {
    for (const path of ["/v2/models/nope", "/v2/models/nope/ready"]) {
      const res = await fetch(`${runtime.url}${path}`);
      expect(res.status).toBe(404);
      expect((await res.json()).error).toContain("iris-classifier, toxicity-descriptors");
    }
    const res = await post(`${runtime.url}/v2/models/nope/infer`, { inputs: [features] });
    expect([res.status, res.json.error]).toEqual([404, expect.stringContaining('"nope"')]);
  });

  it("answers 404 for a version it does not serve and for unknown routes", async () => {
    const res = await post(`${runtime.url}/v2/models/iris-classifier/versions/9.9.9/infer`, { inputs: [features] });
    expect([res.status, res.json.error]).toEqual([404, expect.stringContaining("1.0.0")]);
    const get = await fetch(irisInfer());
    expect(get.status).toBe(404);
    expect(await get.json()).toEqual({ error: "no route for GET /v2/models/iris-classifier/infer" });
  });

  it("checks each model's own inputs", async () => {
    const res = await post(`${runtime.url}/v2/models/toxicity-descriptors/infer`, { inputs: [features] });
    expect(res.status).toBe(400);
    expect(res.json.error).toContain("has no input \"features\"; it takes descriptors");
  });
});

describe("oversized bodies", () => {
  const big = JSON.stringify(withInput({ shape: [1, 4], data: Array(300_000).fill(1.25) }));

  it("refuses a body above the limit with 413, by its Content-Length", async () => {
    expect(big.length).toBeGreaterThan(1 << 20);
    const res = await post(irisInfer(), big);
    expect(res.status).toBe(413);
    expect(res.json.error).toContain("larger than 1048576 bytes");
  });

  it("refuses a chunked body without Content-Length once it passes the limit", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(irisInfer(), { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      for (let i = 0; i < big.length; i += 64 * 1024) req.write(big.slice(i, i + 64 * 1024));
      req.end();
    });
    expect(status).toBe(413);
  });
});

describe("after all of that", () => {
  it("still runs, is ready, and answers a good request, also under concurrent abuse", async () => {
    const abuse = cases.map(([, body]) => post(irisInfer(), body));
    const good = Array.from({ length: 10 }, () => post(irisInfer(), { inputs: iris.inputs }));
    const results = await Promise.all([...abuse, ...good]);
    expect(results.slice(0, abuse.length).every((r) => r.status === 400)).toBe(true);
    for (const r of results.slice(abuse.length)) expect(r.json.outputs[0].data).toEqual(iris.outputs[0]!.data);
    expect(isAlive(runtime.process.pid)).toBe(true);
    expect((await fetch(`${runtime.url}/v2/health/ready`)).status).toBe(200);
  });
});
