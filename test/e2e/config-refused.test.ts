import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { renderBootstrap } from "../../envoy/bootstrap.ts";
import { devFilterConfig } from "../../envoy/filter-config.ts";
import { ensureEnvoy } from "../harness/tools.ts";
import { FILTER_WASM } from "../harness/build-filter.ts";
import { freePort } from "../harness/ports.ts";

/** Starts real Envoy with the given filter configuration; returns its exit status and log. */
async function envoyWith(filterConfig: object): Promise<{ status: number | null; log: string }> {
  const dir = mkdtempSync(join(tmpdir(), "altgate-badconfig-"));
  try {
    const config = join(dir, "envoy.json");
    const [listenerPort, adminPort] = [await freePort(), await freePort()];
    writeFileSync(
      config,
      JSON.stringify(renderBootstrap({ listenerPort, adminPort, serverPort: 9, keycloakPort: 9, wasmPath: FILTER_WASM, filterConfig })),
    );
    const run = spawnSync(await ensureEnvoy(), ["-c", config, "--concurrency", "1", "--base-id", String(adminPort)], {
      encoding: "utf8",
      timeout: 30_000,
    });
    return { status: run.status, log: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const valid = () => devFilterConfig({ keycloakAuthority: "127.0.0.1:9", realm: "altgate", issuer: "http://127.0.0.1:9/realms/altgate" });

describe("an invalid filter configuration", () => {
  it.each([
    ["cache.positive_ttl_s", (c: Record<string, unknown>) => ({ ...c, cache: { positive_ttl_s: -5 } })],
    ["rules[1].methods", (c: Record<string, unknown>) => ({ ...c, rules: [{ prefix: "/a", public: true }, { prefix: "/b", methods: "GET" }] })],
    ["issuers.keycloak.client_secret", (c: Record<string, unknown>) => {
      const issuers = c.issuers as { keycloak: Record<string, unknown> };
      return { ...c, issuers: { keycloak: { ...issuers.keycloak, client_secret: 42 } } };
    }],
  ])("makes real Envoy refuse to start, with a log line naming %s", async (field, breakIt) => {
    const { status, log } = await envoyWith(breakIt(valid()));
    expect(status).not.toBe(0);
    const line = log.split("\n").find((l) => l.includes("altgate: invalid configuration:"));
    expect(line, log.slice(-2000)).toBeDefined();
    expect(line).toContain(field);
    expect(log).toContain("Plugin configured to fail closed failed to load");
  }, 60_000);
});
