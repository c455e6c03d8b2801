import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join, resolve } from "node:path";
import { repoRoot } from "../../harness/paths.ts";

/** The bench's reference filters: the empty one, and one making a cache hit's host calls. */
export const FLOOR_FILTERS = {
  empty: "empty-filter.ts",
  hostCalls: "host-calls-filter.ts",
} as const;

/** Compiles one reference filter next to the bench's other files; returns the .wasm path. */
export async function buildFloorFilter(which: keyof typeof FLOOR_FILTERS, outDir: string): Promise<string> {
  const source = FLOOR_FILTERS[which];
  const out = join(outDir, source.replace(/\.ts$/, ".wasm"));
  try {
    await promisify(execFile)(process.execPath, [
      resolve(repoRoot, "node_modules/assemblyscript/bin/asc.js"),
      resolve(repoRoot, "test/bench/wasm-floor", source),
      "-O3", "--runtime", "stub", "--use", "abort=", "--outFile", out,
      // From its own directory: the repository root's asconfig.json (the filter's runtime and WASI shim) stays out.
    ], { cwd: resolve(repoRoot, "test/bench/wasm-floor") });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`${source} build failed:\n${e.stderr ?? ""}${e.stdout ?? ""}`);
  }
  return out;
}
