// Runs before `npm start` and `npm test` so that both work on a fresh clone: installs the locked
// dependencies when node_modules is missing or older than package-lock.json. Plain JavaScript,
// because nothing else is installed yet when it runs.
import { existsSync, statSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";

const root = resolve(fileURLToPath(import.meta.url), "../../..");
const lock = resolve(root, "package-lock.json");
const installed = resolve(root, "node_modules/.package-lock.json");

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  process.stderr.write("[altgate:deps] installing npm dependencies (npm ci)\n");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
}
