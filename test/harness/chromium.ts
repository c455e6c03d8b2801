/**
 * Chromium for the portal's browser tests: Debian's package `chromium`, driven by playwright-core
 * (which never downloads a browser of its own). Installed with apt when missing and running as
 * root; otherwise the error names the package.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { log } from "./paths.ts";
import { MissingPrerequisite, step } from "./tools.ts";

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };

const run = promisify(execFile);

export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * The flags every test launch uses: headless, no network of its own (no updates, sync or
 * telemetry), no GPU. --no-sandbox because tests may run as root in a container. Add a fresh
 * --user-data-dir (playwright-core's launchPersistentContext does that from its argument).
 */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function version(bin: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(bin, ["--version"], { timeout: 30_000 });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** The path of a working Chromium; installs the Debian package `chromium` if needed and allowed. */
export async function ensureChromium(): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) {
    const v = await version(CHROMIUM_PATH);
    if (v) return CHROMIUM_PATH;
    throw new Error(`chromium: ${CHROMIUM_PATH} exists but '${CHROMIUM_PATH} --version' failed; reinstall the Debian package chromium`);
  }
  const isRoot = process.getuid?.() === 0;
  const hasApt = existsSync("/usr/bin/apt-get");
  if (!isRoot || !hasApt) {
    throw new MissingPrerequisite(
      `chromium: ${CHROMIUM_PATH} is missing; the portal's browser tests need the Debian package chromium ` +
        `(as root: apt-get install chromium)` + (hasApt ? "" : "; this system has no apt-get"),
    );
  }
  const started = Date.now();
  log("chromium", "installing the Debian package chromium with apt-get");
  await step("chromium", "apt-get", ["update"], APT_ENV);
  await step("chromium", "apt-get", ["install", "-y", "chromium"], APT_ENV);
  const v = await version(CHROMIUM_PATH);
  if (!v) throw new Error(`chromium: apt-get installed chromium but '${CHROMIUM_PATH} --version' does not run`);
  log("chromium", `installed ${v} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return CHROMIUM_PATH;
}
