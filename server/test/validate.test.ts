import { describe, expect, it } from "vitest";
import {
  checkInferRequest,
  checkInferResponse,
  checkPredictRequest,
  examplePredictRequest,
  MAX_ISSUES,
  toPredictResponse,
  type Checked,
} from "../src/validate.ts";
import { IRIS, manifest } from "./support/fixtures.ts";

const iris = manifest();
const row = [5.1, 3.5, 1.4, 0.2];

function issues<T>(r: Checked<T>): string[] {
  if (r.ok) throw new Error("expected problems, got none");
  return r.issues.map((i) => `${i.field}: ${i.message}`);
}

describe("predict requests", () => {
  it("turns inputs into OIP tensors", () => {
    const r = checkPredictRequest(iris, { inputs: { features: [row, [6.7, 3, 5.2, 2.3]] } });
    expect(r).toEqual({
      ok: true,
      value: { batch: 2, inputs: [{ name: "features", shape: [2, 4], datatype: "FP32", data: [...row, 6.7, 3, 5.2, 2.3] }] },
    });
  });

  it("turns named instances into rows, in the manifest's field order", () => {
    const r = checkPredictRequest(iris, {
      instances: [{ petal_width_cm: 0.2, sepal_length_cm: 5.1, petal_length_cm: 1.4, sepal_width_cm: 3.5 }],
    });
    expect(r.ok && r.value.inputs[0]!.data).toEqual(row);
  });

  it("accepts instances as rows", () => {
    const r = checkPredictRequest(iris, { instances: [row, row] });
    expect(r.ok && r.value.inputs[0]!.shape).toEqual([2, 4]);
  });

  it.each([
    ["a short row", { inputs: { features: [row, row, [1, 2, 3]] } }, "inputs.features[2]: expected 4 numbers, got 3"],
    ["a string", { inputs: { features: [[5.1, "3.5", 1.4, 0.2]] } }, "inputs.features[0][1]: expected a number, got a string"],
    ["a scalar row", { inputs: { features: [5.1] } }, "inputs.features[0]: expected an array of 4 numbers, got a number"],
    ["no batch dimension", { inputs: { features: row } }, "inputs.features[0]: expected an array of 4 numbers, got a number"],
    ["an object", { inputs: { features: { a: 1 } } }, "inputs.features: expected an array of arrays, got an object"],
    ["an empty batch", { inputs: { features: [] } }, "inputs.features: expected at least one row, got an empty batch"],
    ["a value too large", { inputs: { features: [[5.1, 3.5, 1.4, 1000]] } }, "inputs.features[0][3]: 1000 is above the maximum 100"],
    ["a negative value", { inputs: { features: [[-1, 3.5, 1.4, 0.2]] } }, "inputs.features[0][0]: -1 is below the minimum 0"],
    ["an overflow to Infinity", JSON.parse('{"inputs": {"features": [[1e999, 1, 1, 1]]}}'), "inputs.features[0][0]: expected a finite number, got Infinity"],
    ["null", { inputs: { features: [[null, 1, 1, 1]] } }, "inputs.features[0][0]: expected a number, got null"],
    ["an unknown input", { inputs: { features: [row], extra: [row] } }, "inputs.extra: unknown input (expected: features)"],
    ["a missing input", { inputs: {} }, "inputs.features: required"],
    ["inputs as an array", { inputs: [row] }, "inputs: expected an object mapping input names (features) to arrays, got an array of 1"],
    ["neither form", {}, 'inputs: required (or "instances")'],
    ["both forms", { inputs: {}, instances: [] }, '(body): give either "inputs" or "instances", not both'],
    ["an unknown top-level field", { inputs: { features: [row] }, parameters: {} }, 'parameters: unknown field (expected "inputs" or "instances")'],
    ["not an object", [row], '(body): expected a JSON object with "inputs" or "instances", got an array of 1'],
    ["a missing instance field", { instances: [{ sepal_length_cm: 5.1, sepal_width_cm: 3.5, petal_length_cm: 1.4 }] }, "instances[0].petal_width_cm: required"],
    [
      "an unknown instance field",
      { instances: [{ sepal_length_cm: 5.1, sepal_width_cm: 3.5, petal_length_cm: 1.4, petal_width_cm: 0.2, colour: 1 }] },
      "instances[0].colour: unknown field (expected: sepal_length_cm, sepal_width_cm, petal_length_cm, petal_width_cm)",
    ],
    [
      "a wrong instance value",
      { instances: [{ sepal_length_cm: 5.1, sepal_width_cm: true, petal_length_cm: 1.4, petal_width_cm: 0.2 }] },
      "instances[0].sepal_width_cm: expected a number, got a boolean",
    ],
    ["a short instance row", { instances: [row, [1, 2]] }, "instances[1]: expected 4 numbers, got 2"],
    ["instances not an array", { instances: { a: 1 } }, "instances: expected an array of rows, got an object"],
  ])("names the field for %s", (_what, body, expected) => {
    expect(issues(checkPredictRequest(iris, body))[0]).toBe(expected);
  });

  it("refuses a batch over max_batch", () => {
    const big = Array.from({ length: IRIS.max_batch + 1 }, () => row);
    expect(issues(checkPredictRequest(iris, { inputs: { features: big } }))).toEqual([`inputs.features: batch of 65 rows exceeds max_batch 64`]);
    expect(checkPredictRequest(iris, { inputs: { features: big.slice(1) } }).ok).toBe(true);
  });

  it("reports several problems, at most MAX_ISSUES", () => {
    const r = checkPredictRequest(iris, { inputs: { features: Array.from({ length: 30 }, () => ["a", "b", "c", "d"]) } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toHaveLength(MAX_ISSUES);
    expect(r.more).toBe(true);
  });

  it("checks multi-input models: every input, the same batch", () => {
    const m = manifest({
      inputs: [
        { name: "a", datatype: "INT32", shape: [-1, 2] },
        { name: "b", datatype: "BOOL", shape: [-1] },
      ],
    });
    expect(checkPredictRequest(m, { inputs: { a: [[1, 2]], b: [true] } }).ok).toBe(true);
    expect(issues(checkPredictRequest(m, { inputs: { a: [[1, 2]], b: [true, false] } }))).toEqual(["inputs.b: batch of 2 rows, but inputs.a has 1"]);
    expect(issues(checkPredictRequest(m, { inputs: { a: [[1, 2.5]], b: [1] } }))).toEqual([
      "inputs.a[0][1]: expected an integer, got 2.5",
      "inputs.b[0]: expected a boolean, got a number",
    ]);
    expect(issues(checkPredictRequest(m, { instances: [[1, 2]] }))[0]).toMatch(/^instances: this model takes 2 inputs/);
  });

  it("checks variable inner dimensions for rectangularity", () => {
    const m = manifest({ inputs: [{ name: "tokens", datatype: "BYTES", shape: [-1, -1] }] });
    expect(checkPredictRequest(m, { inputs: { tokens: [["a", "b"], ["c", "d"]] } }).ok).toBe(true);
    expect(issues(checkPredictRequest(m, { inputs: { tokens: [["a", "b"], ["c"]] } }))).toEqual(["inputs.tokens[1]: expected 2 strings like the others, got 1"]);
    expect(issues(checkPredictRequest(m, { instances: [{ a: 1 }] }))[0]).toMatch(/^instances\[0\]: expected an array \(this model's input "tokens" has no named fields\)/);
  });

  it("builds a valid example for each manifest", () => {
    expect(checkPredictRequest(iris, examplePredictRequest(iris)).ok).toBe(true);
    const m = manifest({ inputs: [{ name: "x", datatype: "INT8", shape: [-1, 2, 3], minimum: -5, maximum: 5 }] });
    expect(checkPredictRequest(m, examplePredictRequest(m)).ok).toBe(true);
  });
});

describe("OIP infer requests", () => {
  const good = { id: "abc", inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: row }] };

  it("rebuilds a checked request", () => {
    const r = checkInferRequest(iris, { ...good, parameters: { content_type: "np" }, outputs: [{ name: "label" }] });
    expect(r).toEqual({
      ok: true,
      value: {
        batch: 1,
        request: {
          id: "abc",
          parameters: { content_type: "np" },
          inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: row }],
          outputs: [{ name: "label" }],
        },
      },
    });
  });

  it("accepts nested data", () => {
    const r = checkInferRequest(iris, { inputs: [{ name: "features", shape: [2, 4], datatype: "FP32", data: [row, row] }] });
    expect(r.ok && r.value.request.inputs[0]!.data).toHaveLength(8);
  });

  const tensor = (t: Record<string, unknown>) => ({ inputs: [{ ...good.inputs[0], ...t }] });
  it.each([
    ["a wrong dimension", tensor({ shape: [1, 3], data: [1, 2, 3] }), "inputs[0].shape[1]: expected 4, got 3"],
    ["a wrong rank", tensor({ shape: [4] }), "inputs[0].shape: expected 2 dimensions like [-1, 4], got [4]"],
    ["a wrong datatype", tensor({ datatype: "FP64" }), 'inputs[0].datatype: expected "FP32", got "FP64"'],
    ["too few values", tensor({ shape: [2, 4] }), "inputs[0].data: expected 8 values for shape [2, 4], got 4"],
    ["a bad value", tensor({ data: [1, 2, "x", 4] }), "inputs[0].data[2]: expected a number, got a string"],
    ["an unknown input", tensor({ name: "x" }), 'inputs[0].name: expected one of: features, got "x"'],
    ["too deep data", tensor({ data: [[[row]]] }), "inputs[0].data: nested deeper than the 2 dimensions of the shape"],
    ["a zero dimension", tensor({ shape: [0, 4], data: [] }), "inputs[0].shape[0]: expected at least 1, got 0"],
    ["a batch over max_batch", tensor({ shape: [65, 4], data: [] }), "inputs[0].shape[0]: batch of 65 rows exceeds max_batch 64"],
    ["an unknown output", { ...good, outputs: [{ name: "logits" }] }, 'outputs[0].name: expected one of: label, probabilities, got "logits"'],
    ["no inputs", { inputs: [] }, "inputs: expected a non-empty array of tensors (features), got an array of 0"],
    ["an unknown field", { ...good, raw_input_contents: [] }, "raw_input_contents: unknown field (expected: id, parameters, inputs, outputs)"],
    ["a bad parameter", { ...good, parameters: { a: { b: 1 } } }, "parameters.a: expected a string (up to 4096 characters), number or boolean, got an object"],
    ["a duplicate input", { inputs: [good.inputs[0], good.inputs[0]] }, 'inputs[1].name: input "features" given twice'],
  ])("names the field for %s", (_what, body, expected) => {
    expect(issues(checkInferRequest(iris, body))[0]).toBe(expected);
  });
});

describe("container answers", () => {
  const answer = (patch: (o: any) => void = () => undefined) => {
    const a: any = {
      model_name: "iris-classifier",
      id: "1",
      outputs: [
        { name: "label", datatype: "INT64", shape: [2], data: [0, 2] },
        { name: "probabilities", datatype: "FP32", shape: [2, 3], data: [0.9, 0.05, 0.05, 0.1, 0.1, 0.8] },
        { name: "extra", datatype: "FP32", shape: [1], data: [1] },
      ],
    };
    patch(a);
    return a;
  };

  it("accepts a correct answer, dropping undeclared outputs, and builds the predict response", () => {
    const r = checkInferResponse(iris, answer(), { batch: 2 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.outputs.map((o) => o.name)).toEqual(["label", "probabilities"]);
    expect(toPredictResponse(iris, r.value)).toEqual({
      model: "iris-classifier",
      version: "1.0.0",
      outputs: { label: [0, 2], probabilities: [[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]] },
      labels: { label: ["setosa", "virginica"] },
    });
  });

  it.each([
    ["not an object", () => "garbage", /not a JSON object/],
    ["no outputs", (a: any) => delete a.outputs, /"outputs" is undefined/],
    ["a missing output", (a: any) => a.outputs.splice(1, 1), /output "probabilities" is missing/],
    ["a wrong datatype", (a: any) => (a.outputs[0].datatype = "FP32"), /datatype "FP32", the manifest says INT64/],
    ["a wrong shape", (a: any) => (a.outputs[1].shape = [2, 2]), /shape \[2, 2\] does not fit \[-1, 3\]/],
    ["a wrong batch", (a: any) => (a.outputs[0] = { ...a.outputs[0], shape: [1], data: [0] }), /1 rows for a batch of 2/],
    ["missing values", (a: any) => a.outputs[1].data.pop(), /5 values for shape \[2, 3\]/],
    ["a string value", (a: any) => (a.outputs[1].data[0] = "0.9"), /data\[0\]: expected a number/],
    ["a class without label", (a: any) => (a.outputs[0].data[1] = 3), /class 3 has no label/],
    ["a duplicate output", (a: any) => a.outputs.push(a.outputs[0]), /appears twice/],
  ])("refuses %s", (_what, patch, expected) => {
    const body = typeof patch === "function" && patch.length === 0 ? (patch as () => unknown)() : answer(patch as (a: any) => void);
    const r = checkInferResponse(iris, body, { batch: 2 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatch(expected);
  });

  it("only requires the outputs that were asked for", () => {
    const body = answer((a) => a.outputs.splice(1, 1));
    expect(checkInferResponse(iris, body, { batch: 2, outputs: ["label"] }).ok).toBe(true);
  });

  it("names a float output's columns", () => {
    const m = manifest({ outputs: [{ name: "p", datatype: "FP64", shape: [-1, 2], labels: ["no", "yes"] }] });
    const r = checkInferResponse(m, { outputs: [{ name: "p", datatype: "FP64", shape: [1, 2], data: [0.3, 0.7] }] }, { batch: 1 });
    expect(r.ok && toPredictResponse(m, r.value)).toEqual({ model: "iris-classifier", version: "1.0.0", outputs: { p: [[0.3, 0.7]] }, labels: { p: ["no", "yes"] } });
  });
});

describe("messages echo no large input", () => {
  it("cuts long names short", () => {
    const long = "x".repeat(10_000);
    const msgs = [
      ...issues(checkPredictRequest(iris, { inputs: { features: [row], [long]: [] } })),
      ...issues(checkPredictRequest(iris, { [long]: 1, inputs: { features: [row] } })),
      ...issues(checkInferRequest(iris, { inputs: [{ name: long, shape: [1, 4], datatype: long, data: row }] })),
    ];
    for (const m of msgs) expect(m.length).toBeLessThan(300);
  });

  it("passes on only flat parameters from a container", () => {
    const body = {
      parameters: { deep: { a: { b: 1 } } },
      outputs: [
        { name: "label", datatype: "INT64", shape: [1], data: [0], parameters: { content_type: "np" } },
        { name: "probabilities", datatype: "FP32", shape: [1, 3], data: [1, 0, 0] },
      ],
    };
    const r = checkInferResponse(iris, body, { batch: 1 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.parameters).toBeUndefined();
    expect(r.value.outputs[0]!.parameters).toEqual({ content_type: "np" });
  });
});
