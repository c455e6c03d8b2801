import { describe, expect, it } from "vitest";
import { checkElement, describe as describeValue, elementNoun, flattenInto, member, shapeMismatch, shapeSize, unflatten } from "../src/tensors.ts";

describe("checkElement", () => {
  it("accepts each datatype's values", () => {
    expect(checkElement("BOOL", true)).toBeUndefined();
    expect(checkElement("BYTES", "x")).toBeUndefined();
    expect(checkElement("INT32", -2147483648)).toBeUndefined();
    expect(checkElement("UINT8", 255)).toBeUndefined();
    expect(checkElement("INT64", Number.MAX_SAFE_INTEGER)).toBeUndefined();
    expect(checkElement("FP32", 3.4e38)).toBeUndefined();
    expect(checkElement("FP64", 1e300)).toBeUndefined();
    expect(checkElement("FP16", -65504)).toBeUndefined();
  });

  it("names what is wrong", () => {
    expect(checkElement("FP32", "5.1")).toBe("expected a number, got a string");
    expect(checkElement("INT64", 1.5)).toBe("expected an integer, got 1.5");
    expect(checkElement("INT32", null)).toBe("expected an integer, got null");
    expect(checkElement("BOOL", 1)).toBe("expected a boolean, got a number");
    expect(checkElement("BYTES", [])).toBe("expected a string, got an array of 0");
    expect(checkElement("FP64", Infinity)).toBe("expected a finite number, got Infinity");
    expect(checkElement("FP32", NaN)).toBe("expected a finite number, got NaN");
    expect(checkElement("FP32", 1e39)).toBe("1e+39 is out of range for FP32");
    expect(checkElement("UINT8", 256)).toBe("256 is out of range for UINT8");
    expect(checkElement("UINT32", -1)).toBe("-1 is out of range for UINT32");
    expect(checkElement("INT64", 2 ** 53)).toBe(`${2 ** 53} is out of range for INT64`);
    expect(checkElement("FP32", { a: 1 })).toBe("expected a number, got an object");
  });

  it("checks the manifest's bounds", () => {
    expect(checkElement("FP32", 0, { minimum: 0, maximum: 10 })).toBeUndefined();
    expect(checkElement("FP32", 10, { minimum: 0, maximum: 10 })).toBeUndefined();
    expect(checkElement("FP32", -0.5, { minimum: 0 })).toBe("-0.5 is below the minimum 0");
    expect(checkElement("INT32", 11, { maximum: 10 })).toBe("11 is above the maximum 10");
  });
});

describe("shapes and data", () => {
  it("computes sizes and mismatches", () => {
    expect(shapeSize([2, 3, 4])).toBe(24);
    expect(shapeMismatch([-1, 4], [7, 4])).toBe(-1);
    expect(shapeMismatch([-1, 4], [7, 3])).toBe(1);
    expect(shapeMismatch([-1, 4], [7])).toBe(-2);
  });

  it("flattens nested data with a depth bound, and unflattens it", () => {
    const out: unknown[] = [];
    expect(flattenInto([[1, 2], [3, 4]], out, 2)).toBe(true);
    expect(out).toEqual([1, 2, 3, 4]);
    expect(flattenInto([[[1]]], [], 2)).toBe(false);
    expect(unflatten([1, 2, 3, 4, 5, 6], [2, 3])).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(unflatten([1, 2, 3, 4], [2, 1, 2])).toEqual([[[1, 2]], [[3, 4]]]);
    expect(unflatten([0, 2], [2])).toEqual([0, 2]);
  });

  it("survives deeply nested input without exhausting the stack", () => {
    let deep: unknown = [1];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(flattenInto([deep], [], 8)).toBe(false);
  });

  it("names values and members", () => {
    expect(describeValue("x")).toBe("a string");
    expect(describeValue(null)).toBe("null");
    expect(describeValue([1, 2])).toBe("an array of 2");
    expect(elementNoun("FP32")).toBe("numbers");
    expect(elementNoun("INT8")).toBe("integers");
    expect(member("features")).toBe(".features");
    expect(member("input-0")).toBe('["input-0"]');
  });
});
