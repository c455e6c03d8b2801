import { fileURLToPath } from "node:url";
import { resolve, join } from "node:path";
import { homedir } from "node:os";

export const repoRoot = resolve(fileURLToPath(import.meta.url), "../../..");

/** Downloaded tools live outside the checkout so every clone on the machine shares them. */
export const toolsDir =
  process.env.ALTGATE_TOOLS_DIR ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "altgate", "tools");

/** Per-run state: generated configs, component logs, database files. Ignored by git. */
export const runRoot = process.env.ALTGATE_RUN_DIR ?? join(repoRoot, ".altgate");

export function log(component: string, message: string): void {
  process.stderr.write(`[altgate:${component}] ${message}\n`);
}
