import { cpSync, mkdirSync, symlinkSync, copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../paths.ts";
import { freePort } from "../ports.ts";
import { spawnComponent, stopProcess, type Managed } from "../processes.ts";
import { waitUntilReady, httpOk } from "../readiness.ts";

export const REALM = "altgate";
export const REALM_FIXTURE = join(repoRoot, "test/fixtures/altgate-realm.json");

export interface Keycloak {
  url: string;
  port: number;
  managementPort: number;
  issuer: string;
  tokenEndpoint: string;
  introspectionPath: string;
  adminUser: string;
  adminPassword: string;
  process: Managed;
  stop(): Promise<void>;
}

/**
 * Keycloak's home (and so its data/import folder) is the folder its kc.sh lives in. Each run gets a
 * small home of its own: copied scripts and config, the run's realm file, and links to the shared,
 * pre-built libraries. Two stacks can then run side by side without touching each other's files.
 */
function prepareHome(installed: string, runDir: string): string {
  const home = join(runDir, "keycloak");
  rmSync(home, { recursive: true, force: true });
  mkdirSync(join(home, "data", "import"), { recursive: true });
  cpSync(join(installed, "bin"), join(home, "bin"), { recursive: true });
  cpSync(join(installed, "conf"), join(home, "conf"), { recursive: true });
  for (const shared of ["lib", "themes", "providers"]) symlinkSync(join(installed, shared), join(home, shared));
  copyFileSync(join(installed, "version.txt"), join(home, "version.txt"));
  copyFileSync(REALM_FIXTURE, join(home, "data", "import", "altgate-realm.json"));
  return home;
}

/** `ports` restarts Keycloak where a running Envoy expects it, e.g. after an outage test stopped it. */
export async function startKeycloak(
  installed: string,
  runDir: string,
  ports?: { port: number; managementPort: number },
): Promise<Keycloak> {
  const home = prepareHome(installed, runDir);
  const port = ports?.port ?? (await freePort());
  const managementPort = ports?.managementPort ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const adminUser = "admin";
  const adminPassword = "admin-dev-password";
  const proc = spawnComponent({
    name: "keycloak",
    command: join(home, "bin", "kc.sh"),
    args: [
      "start", "--optimized", "--import-realm",
      "--http-enabled=true", "--http-host=127.0.0.1", `--http-port=${port}`,
      `--http-management-port=${managementPort}`,
      // A fixed hostname keeps the token issuer the same however Keycloak is reached (directly by
      // clients, through Envoy's cluster by the filter), which introspection requires.
      `--hostname=${url}`, "--hostname-backchannel-dynamic=false",
    ],
    env: {
      ...process.env,
      KC_BOOTSTRAP_ADMIN_USERNAME: adminUser,
      KC_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
      JAVA_OPTS_KC_HEAP: "-XX:MaxRAMPercentage=10 -XX:InitialRAMPercentage=2",
    },
    logFile: join(runDir, "logs", "keycloak.log"),
  });
  const issuer = `${url}/realms/${REALM}`;
  await waitUntilReady(proc, () => httpOk(`${issuer}/.well-known/openid-configuration`), 180_000, "realm discovery document");
  return {
    url,
    port,
    managementPort,
    issuer,
    tokenEndpoint: `${issuer}/protocol/openid-connect/token`,
    introspectionPath: `/realms/${REALM}/protocol/openid-connect/token/introspect`,
    adminUser,
    adminPassword,
    process: proc,
    stop: () => stopProcess(proc, 20_000),
  };
}
