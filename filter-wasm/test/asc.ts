import asc from "assemblyscript/asc";
import { instantiate, type ASUtil } from "@assemblyscript/loader";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";

const root = resolve(fileURLToPath(import.meta.url), "../../..");

/**
 * Compiles an AssemblyScript test entry that re-exports pure filter modules, and instantiates it
 * with the AssemblyScript loader. The pure modules are tested this way, without the proxy-wasm ABI;
 * an `abort` inside them surfaces as a thrown JS error, so tests can assert that none happens.
 */
export async function loadEntry<T extends Record<string, unknown>>(
  entry: string,
  extraFlags: string[] = [],
): Promise<ASUtil & T> {
  let binary: Uint8Array | undefined;
  const stderr: string[] = [];
  const { error } = await asc.main(
    [
      resolve(root, entry),
      // A config of its own keeps the root asconfig.json (WASI shim, filter entry) out of unit builds.
      "--config", resolve(root, "filter-wasm/test/asconfig.json"),
      "--outFile", "out.wasm",
      ...extraFlags,
    ],
    {
      readFile: undefined,
      writeFile(name: string, contents: string | Uint8Array) {
        if (name.endsWith(".wasm") && typeof contents !== "string") binary = contents;
      },
      stderr: { write: (s: string) => { stderr.push(String(s)); return true; } } as never,
      stdout: { write: () => true } as never,
    },
  );
  if (error || !binary) throw new Error(`asc failed for ${entry}: ${error?.message ?? ""}\n${stderr.join("")}`);
  const { exports } = await instantiate<T>(binary, {
    env: {
      abort(msg: number, file: number, line: number, col: number) {
        const read = (p: number) => (p ? exports.__getString(p) : "");
        throw new Error(`abort: ${read(msg)} at ${read(file)}:${line}:${col}`);
      },
    },
  });
  return exports;
}
