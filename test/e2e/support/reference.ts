import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { repoRoot } from "../../harness/paths.ts";

export interface Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}

/** The fixed inputs and outputs a training script recorded in models/<name>/reference.json. */
export function reference(model: string): { inputs: Tensor[]; outputs: Tensor[] } {
  return JSON.parse(readFileSync(join(repoRoot, "models", model, "reference.json"), "utf8"));
}

/** A flat OIP tensor as the nested arrays the plain predict API takes and returns. */
export function nest(t: { shape: number[]; data: number[] }): unknown {
  const build = (dims: number[], offset: number): unknown => {
    if (dims.length === 1) return t.data.slice(offset, offset + dims[0]!);
    const stride = dims.slice(1).reduce((a, b) => a * b, 1);
    return Array.from({ length: dims[0]! }, (_, i) => build(dims.slice(1), offset + i * stride));
  };
  return build(t.shape, 0);
}

/** Labels exactly; floating-point outputs within 1e-5 relative. */
export function expectSameValues(actual: unknown, expected: unknown, what: string): void {
  const a = [actual].flat(Infinity) as number[];
  const e = [expected].flat(Infinity) as number[];
  expect(a.length, `${what}: length`).toBe(e.length);
  e.forEach((v, i) => {
    if (Number.isInteger(v) && Number.isInteger(a[i])) expect(a[i], `${what}[${i}]`).toBe(v);
    else expect(Math.abs(a[i]! - v), `${what}[${i}]`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v)));
  });
}
