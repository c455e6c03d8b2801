import { describe, it, expect, inject } from "vitest";
import { clientCredentials } from "./keycloak.ts";
import { stats as envoyStats } from "./envoy-stats.ts";

const stack = inject("stack");
const stats = (filter: string) => envoyStats(stack.envoyAdminUrl, filter);

describe("Envoy's admin endpoint", () => {
  it("shows the altgate Wasm filter loaded in the V8 runtime", async () => {
    const dump = (await (await fetch(`${stack.envoyAdminUrl}/config_dump`)).json()) as unknown;
    const text = JSON.stringify(dump);
    expect(text).toContain('"@type":"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"');
    expect(text).toContain('"runtime":"envoy.wasm.runtime.v8"');
    expect(text).toContain('"root_id":"altgate"');
    const runtime = await stats("^wasm\\.envoy\\.wasm\\.runtime\\.v8\\.");
    expect(runtime.get("wasm.envoy.wasm.runtime.v8.active")).toBeGreaterThan(0);
  });

  it("counts the requests the filter allowed and denied in its own metrics", async () => {
    const before = await stats("altgate\\.requests_");
    const token = await clientCredentials();
    for (let i = 0; i < 5; i++) {
      await (await fetch(`${stack.entryUrl}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
    }
    for (let i = 0; i < 3; i++) await (await fetch(`${stack.entryUrl}/v1/whoami`)).arrayBuffer();
    const after = await stats("altgate\\.requests_");
    const delta = (name: string) => {
      const key = [...after.keys()].find((k) => k.endsWith(name));
      expect(key, `metric ${name} in ${[...after.keys()].join(", ")}`).toBeDefined();
      return after.get(key!)! - (before.get(key!) ?? 0);
    };
    expect(delta("altgate.requests_allowed")).toBe(5);
    expect(delta("altgate.requests_denied")).toBe(3);
  });
});
