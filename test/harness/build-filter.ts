import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { resolve } from "node:path";
import { repoRoot, log } from "./paths.ts";

export const FILTER_WASM = resolve(repoRoot, "filter-wasm/build/altgate.wasm");

/**
 * Builds the filter exactly as `npm run build:filter` does: asc with the root asconfig.json,
 * run from the repository root because the WASI shim's library path in that config is relative.
 */
export async function buildFilter(): Promise<string> {
  const started = Date.now();
  try {
    await promisify(execFile)(process.execPath, [resolve(repoRoot, "node_modules/assemblyscript/bin/asc.js"), "--target", "release"], {
      cwd: repoRoot,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`filter build failed:\n${e.stderr ?? ""}${e.stdout ?? ""}`);
  }
  log("filter", `built ${FILTER_WASM} in ${Date.now() - started} ms`);
  return FILTER_WASM;
}
