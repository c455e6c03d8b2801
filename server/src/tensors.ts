/**
 * Tensors as the Open Inference Protocol (KServe v2) REST API carries them: a datatype, a shape
 * (`-1` in a manifest means "any size"), and the elements flattened in row-major order. Pure.
 */

export const DATATYPES = [
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
  "BYTES",
] as const;
export type Datatype = (typeof DATATYPES)[number];
export type Scalar = number | boolean | string;

/** Integer ranges; 64-bit ones stop where JSON numbers stop being exact in JavaScript. */
export const INT_RANGE: Partial<Record<Datatype, readonly [number, number]>> = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
const FLOAT_MAX: Partial<Record<Datatype, number>> = { FP16: 65504, FP32: 3.4028234663852886e38, FP64: Number.MAX_VALUE };

export const isIntegerType = (dt: Datatype) => INT_RANGE[dt] !== undefined;
export const isFloatType = (dt: Datatype) => FLOAT_MAX[dt] !== undefined;
export const isNumericType = (dt: Datatype) => isIntegerType(dt) || isFloatType(dt);

/** "numbers", "integers", "booleans", "strings": what the innermost arrays hold. */
export function elementNoun(dt: Datatype): string {
  if (dt === "BOOL") return "booleans";
  if (dt === "BYTES") return "strings";
  return isIntegerType(dt) ? "integers" : "numbers";
}

/** "a string", "an object", "null", …: how a wrong value is named in a message. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  switch (typeof v) {
    case "string":
      return "a string";
    case "number":
      return Number.isFinite(v) ? "a number" : String(v);
    case "boolean":
      return "a boolean";
    case "object":
      return "an object";
    default:
      return typeof v;
  }
}

export interface Bounds {
  minimum?: number;
  maximum?: number;
}

/** Why `v` is not a valid element of `dt` (within `bounds`), or undefined when it is. */
export function checkElement(dt: Datatype, v: unknown, bounds?: Bounds): string | undefined {
  if (dt === "BOOL") return typeof v === "boolean" ? undefined : `expected a boolean, got ${describe(v)}`;
  if (dt === "BYTES") return typeof v === "string" ? undefined : `expected a string, got ${describe(v)}`;
  if (typeof v !== "number") return `expected ${isIntegerType(dt) ? "an integer" : "a number"}, got ${describe(v)}`;
  // JSON has no NaN or Infinity, but a literal like 1e999 parses to Infinity.
  if (!Number.isFinite(v)) return `expected a finite number, got ${v}`;
  const range = INT_RANGE[dt];
  if (range) {
    if (!Number.isInteger(v)) return `expected an integer, got ${v}`;
    if (v < range[0] || v > range[1]) return `${v} is out of range for ${dt}`;
  } else if (Math.abs(v) > FLOAT_MAX[dt]!) {
    return `${v} is out of range for ${dt}`;
  }
  if (bounds) {
    if (bounds.minimum !== undefined && v < bounds.minimum) return `${v} is below the minimum ${bounds.minimum}`;
    if (bounds.maximum !== undefined && v > bounds.maximum) return `${v} is above the maximum ${bounds.maximum}`;
  }
  return undefined;
}

/** Number of elements of a concrete shape (no -1). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export const formatShape = (shape: readonly number[]) => `[${shape.join(", ")}]`;

/**
 * The first dimension where a concrete shape differs from a declared one (-1 matches any size),
 * `-2` when the ranks differ, or -1 when it matches.
 */
export function shapeMismatch(declared: readonly number[], actual: readonly number[]): number {
  if (declared.length !== actual.length) return -2;
  for (let i = 0; i < declared.length; i++) {
    if (declared[i] !== -1 && declared[i] !== actual[i]) return i;
  }
  return -1;
}

/**
 * Flattens OIP `data`, which may be flat or nested in row-major order, into `out`. Returns false
 * when the nesting is deeper than `maxDepth` (bounded, so no input can exhaust the stack).
 */
export function flattenInto(data: readonly unknown[], out: unknown[], maxDepth: number): boolean {
  for (const v of data) {
    if (Array.isArray(v)) {
      if (maxDepth <= 1 || !flattenInto(v, out, maxDepth - 1)) return false;
    } else {
      out.push(v);
    }
  }
  return true;
}

/** Row-major flat data back to nested arrays of `shape` (which must fit `data.length`). */
export function unflatten<T>(data: readonly T[], shape: readonly number[]): unknown {
  if (shape.length === 0) return data[0];
  let offset = 0;
  const build = (dim: number): unknown[] => {
    const n = shape[dim]!;
    const out = new Array<unknown>(n);
    if (dim === shape.length - 1) {
      for (let i = 0; i < n; i++) out[i] = data[offset++];
    } else {
      for (let i = 0; i < n; i++) out[i] = build(dim + 1);
    }
    return out;
  };
  return build(0);
}

/** A JSON path segment for a name: `.features`, or `["odd name"]` when it is not an identifier. */
export function member(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) ? `.${name}` : `[${quote(name)}]`;
}

/** A string from a request, quoted for a message, and cut short: messages echo no large input. */
export function quote(s: string, max = 64): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}
