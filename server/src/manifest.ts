/**
 * Model manifests (models/<name>/manifest.json): what a model takes and returns, who may use it.
 * Validated with zod at start; an invalid manifest stops the server with a message that names the
 * file and the field. Pure.
 */
import { z } from "zod";
import { DATATYPES, isIntegerType, isNumericType } from "./tensors.ts";

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const nameMessage = "must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit";

const tensorName = z.string().regex(NAME_PATTERN, nameMessage);
const dimension = z.int().refine((d) => d === -1 || d >= 1, "must be -1 (any size) or a positive integer");
const tensorBase = {
  name: tensorName,
  datatype: z.enum(DATATYPES),
  shape: z.array(dimension).min(1, "needs at least one dimension").max(8),
  description: z.string().max(2000).optional(),
};

const inputSpec = z
  .strictObject({
    ...tensorBase,
    /** Names of the last dimension's elements, for the `instances` form of a predict request. */
    fields: z.array(z.string().min(1).max(128)).min(1).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
  })
  .superRefine((t, ctx) => {
    if (t.fields) {
      const last = t.shape[t.shape.length - 1];
      if (t.shape.length !== 2 || last !== t.fields.length) {
        ctx.addIssue({
          code: "custom",
          path: ["fields"],
          message: `${t.fields.length} field names need a shape of [-1, ${t.fields.length}], got [${t.shape.join(", ")}]`,
        });
      }
      const dup = t.fields.find((f, i) => t.fields!.indexOf(f) !== i);
      if (dup !== undefined) ctx.addIssue({ code: "custom", path: ["fields"], message: `duplicate field "${dup}"` });
    }
    for (const k of ["minimum", "maximum"] as const) {
      if (t[k] !== undefined && !isNumericType(t.datatype)) {
        ctx.addIssue({ code: "custom", path: [k], message: `not allowed for datatype ${t.datatype}` });
      }
    }
    if (t.minimum !== undefined && t.maximum !== undefined && t.minimum > t.maximum) {
      ctx.addIssue({ code: "custom", path: ["minimum"], message: `${t.minimum} is greater than maximum ${t.maximum}` });
    }
  });

const outputSpec = z
  .strictObject({
    ...tensorBase,
    /** Integer outputs: the name of each class index. Other outputs: the names along the last axis. */
    labels: z.array(z.string().max(200)).min(1).optional(),
  })
  .superRefine((t, ctx) => {
    if (t.labels && !isIntegerType(t.datatype)) {
      const last = t.shape[t.shape.length - 1];
      if (last !== t.labels.length) {
        ctx.addIssue({
          code: "custom",
          path: ["labels"],
          message: `a ${t.datatype} output's labels name its last axis, which must then be ${t.labels.length} long, got ${last}`,
        });
      }
    }
  });

function uniqueNames(list: { name: string }[], where: string, ctx: z.RefinementCtx) {
  const seen = new Set<string>();
  list.forEach((t, i) => {
    if (seen.has(t.name)) ctx.addIssue({ code: "custom", path: [where, i, "name"], message: `duplicate ${where.slice(0, -1)} "${t.name}"` });
    seen.add(t.name);
  });
}

export const manifestSchema = z
  .strictObject({
    name: z.string().regex(NAME_PATTERN, nameMessage),
    version: z.string().min(1).max(64),
    framework: z.string().min(1).max(100),
    description: z.string().max(5000),
    inputs: z.array(inputSpec).min(1),
    outputs: z.array(outputSpec).min(1),
    /** Roles allowed to see and call the model: a caller needs any one of them. */
    roles: z.array(z.string().min(1).max(200)).min(1, "must name at least one role"),
    artifact: z.string().min(1).optional(),
    /** Where the training data came from. */
    data: z.string().optional(),
    /** Most rows in one request. */
    max_batch: z.int().min(1).max(1_000_000),
  })
  .superRefine((m, ctx) => {
    uniqueNames(m.inputs, "inputs", ctx);
    uniqueNames(m.outputs, "outputs", ctx);
  });

export type Manifest = z.infer<typeof manifestSchema>;
export type InputSpec = Manifest["inputs"][number];
export type OutputSpec = Manifest["outputs"][number];

/** `inputs[0].shape[1]` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s === "" ? String(p) : `.${String(p)}`;
  return s === "" ? "(root)" : s;
}

export function formatZodIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.join("; ")}`);
    this.name = "ManifestError";
  }
}

/** A valid manifest, or a ManifestError naming `file` and every bad field. */
export function parseManifest(json: unknown, file: string): Manifest {
  const r = manifestSchema.safeParse(json);
  if (!r.success) throw new ManifestError(file, formatZodIssues(r.error));
  return r.data;
}

/** Whether any of `roles` is one the manifest allows. */
export function allows(manifest: Manifest, roles: readonly string[]): boolean {
  for (const r of roles) if (manifest.roles.includes(r)) return true;
  return false;
}
