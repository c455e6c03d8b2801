import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { modelDir } from "../../test/harness/components/models.ts";

export function readJson<T = any>(...path: string[]): T {
  return JSON.parse(readFileSync(join(...path), "utf8")) as T;
}

export interface OipTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

export interface Reference {
  inputs: OipTensor[];
  outputs: OipTensor[];
  framework_outputs: Record<string, unknown[]>;
}

export const reference = (name: string) => readJson<Reference>(modelDir(name), "reference.json");

export async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** Labels must match exactly; scores within 1e-5 relative, the spread float32 arithmetic leaves across CPUs. */
export function expectTensorsEqual(actual: OipTensor, expected: OipTensor): void {
  expect({ name: actual.name, datatype: actual.datatype, shape: actual.shape }).toEqual({
    name: expected.name,
    datatype: expected.datatype,
    shape: expected.shape,
  });
  if (expected.datatype.startsWith("FP")) expectClose(actual.data as number[], expected.data as number[], 1e-5);
  else expect(actual.data).toEqual(expected.data);
}

export function expectClose(actual: number[], expected: number[], relative: number): void {
  expect(actual).toHaveLength(expected.length);
  const worst = Math.max(0, ...expected.map((e, i) => Math.abs(actual[i]! - e) / Math.max(Math.abs(e), 1e-12)));
  expect(worst, `largest relative difference ${worst}`).toBeLessThanOrEqual(relative);
}
