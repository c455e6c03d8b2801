import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join, resolve } from "node:path";
import { repoRoot } from "../../harness/paths.ts";

/** Compiles the empty filter next to the bench's other files; returns the .wasm path. */
export async function buildWasmFloor(outDir: string): Promise<string> {
  const out = join(outDir, "wasm-floor.wasm");
  try {
    await promisify(execFile)(process.execPath, [
      resolve(repoRoot, "node_modules/assemblyscript/bin/asc.js"),
      resolve(repoRoot, "test/bench/wasm-floor/empty-filter.ts"),
      "-O3", "--runtime", "stub", "--use", "abort=", "--outFile", out,
      // From its own directory: the repository root's asconfig.json (the filter's runtime and WASI shim) stays out.
    ], { cwd: resolve(repoRoot, "test/bench/wasm-floor") });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`wasm floor build failed:\n${e.stderr ?? ""}${e.stdout ?? ""}`);
  }
  return out;
}
