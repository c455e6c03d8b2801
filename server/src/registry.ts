/**
 * The model registry file named by ALTGATE_MODELS:
 *
 *   [{ "manifest": "models/iris/manifest.json", "endpoint": "http://127.0.0.1:9001",
 *      "timeout_ms"?: 5000, "max_concurrency"?: 8, "max_queue"?: 64, "upstream_name"?: "iris" }]
 *
 * `manifest` is a path, relative to the registry file's folder unless absolute. `upstream_name` is
 * the model's name at the container when it differs from the manifest's (a third-party server may
 * call it something else); by default the manifest's name. Validation is pure; `loadRegistry`
 * adds only the file reads.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { formatZodIssues, NAME_PATTERN, parseManifest, ManifestError, type Manifest } from "./manifest.ts";

const endpoint = z.string().superRefine((s, ctx) => {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    ctx.addIssue({ code: "custom", message: `not a URL: "${s}"` });
    return;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") ctx.addIssue({ code: "custom", message: "must be http:// or https://" });
  if ((u.pathname !== "/" && u.pathname !== "") || u.search || u.hash || u.username || u.password) {
    ctx.addIssue({ code: "custom", message: `must be an origin (scheme://host:port) without path, query or credentials, got "${s}"` });
  }
});

const entrySchema = z.strictObject({
  manifest: z.string().min(1),
  endpoint,
  timeout_ms: z.int().min(1).max(600_000).optional(),
  max_concurrency: z.int().min(1).max(1024).optional(),
  max_queue: z.int().min(0).max(100_000).optional(),
  upstream_name: z.string().regex(NAME_PATTERN).optional(),
});
export const registrySchema = z.array(entrySchema);
export type RegistryEntry = z.infer<typeof entrySchema>;

/** One model, as the server serves it. */
export interface ModelConfig {
  manifest: Manifest;
  manifestFile: string;
  /** Origin of the OIP server, e.g. http://127.0.0.1:9001. */
  endpoint: string;
  upstreamName: string;
  timeoutMs?: number;
  maxConcurrency?: number;
  maxQueue?: number;
}

export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistryError";
  }
}

/** Validates the registry's JSON; throws RegistryError naming the file and every bad field. */
export function parseRegistry(json: unknown, file: string): RegistryEntry[] {
  const r = registrySchema.safeParse(json);
  if (!r.success) throw new RegistryError(`${file}: ${formatZodIssues(r.error).join("; ")}`);
  return r.data;
}

/** Joins entries with their manifests; duplicate model names are an error. */
export function buildModels(
  entries: RegistryEntry[],
  manifests: { file: string; manifest: Manifest }[],
  registryFile: string,
): ModelConfig[] {
  const byName = new Map<string, string>();
  return entries.map((e, i) => {
    const { file, manifest } = manifests[i]!;
    const other = byName.get(manifest.name);
    if (other) throw new RegistryError(`${registryFile}: [${i}].manifest: model "${manifest.name}" is also defined by ${other}`);
    byName.set(manifest.name, file);
    return {
      manifest,
      manifestFile: file,
      endpoint: new URL(e.endpoint).origin,
      upstreamName: e.upstream_name ?? manifest.name,
      timeoutMs: e.timeout_ms,
      maxConcurrency: e.max_concurrency,
      maxQueue: e.max_queue,
    };
  });
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new RegistryError(`${what} ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RegistryError(`${what} ${file}: not valid JSON (${(err as Error).message})`);
  }
}

export async function loadRegistry(registryFile: string): Promise<ModelConfig[]> {
  const file = resolve(registryFile);
  const entries = parseRegistry(await readJson(file, "model registry"), file);
  const manifests: { file: string; manifest: Manifest }[] = [];
  for (const [i, e] of entries.entries()) {
    const mfile = isAbsolute(e.manifest) ? e.manifest : resolve(dirname(file), e.manifest);
    const json = await readJson(mfile, `manifest of [${i}] in ${file}:`);
    try {
      manifests.push({ file: mfile, manifest: parseManifest(json, mfile) });
    } catch (err) {
      if (err instanceof ManifestError) throw new RegistryError(`manifest ${err.message}`);
      throw err;
    }
  }
  return buildModels(entries, manifests, file);
}
