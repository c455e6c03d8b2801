/**
 * Where the generated files live and how to tell them from hand-written ones, for the generator
 * (which writes them and removes stale ones) and the drift test (which compares them).
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { FILTER_WASM } from "../test/harness/build-filter.ts";
import { repoRoot } from "./definition.ts";
import { buildWasmImage, type WasmImage } from "./oci.ts";
import { HEADER, renderAll } from "./render.ts";

/** Folders whose files may be generated, and the generated files outside them. */
export const GENERATED_DIRS = ["istio", "k8s"];
export const GENERATED_FILES = ["compose.yaml"];

export const isGenerated = (text: string) => text.includes(HEADER);

/** Every file in the repository that carries the generated header. */
export function committedGenerated(): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const text = readFileSync(path, "utf8");
        if (isGenerated(text)) found.set(relative(repoRoot, path), text);
      }
    }
  };
  for (const dir of GENERATED_DIRS) if (existsSync(join(repoRoot, dir))) walk(join(repoRoot, dir));
  for (const file of GENERATED_FILES) {
    const path = join(repoRoot, file);
    if (existsSync(path)) found.set(file, readFileSync(path, "utf8"));
  }
  return found;
}

const pkgVersion = () => (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }).version;

/** The image of filter-wasm/build/altgate.wasm as last built (npm run build:filter). */
export const builtImage = (): WasmImage => buildWasmImage(readFileSync(FILTER_WASM), pkgVersion());

/** What differs between two file sets: paths missing, extra or with other contents. */
export function compareFiles(expected: Map<string, string>, actual: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [path, text] of expected) {
    if (!actual.has(path)) problems.push(`${path}: missing`);
    else if (actual.get(path) !== text) problems.push(`${path}: differs from what deploy/definition.ts renders`);
  }
  for (const path of actual.keys()) if (!expected.has(path)) problems.push(`${path}: generated, but no longer rendered`);
  return problems;
}
