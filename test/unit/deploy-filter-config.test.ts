/**
 * The filter in the mesh is the filter of the standalone Envoy (envoy/bootstrap.ts with
 * envoy/filter-config.ts): same Wasm identity, same failure policy, same configuration but for the
 * deployment-specific fields listed here, and that configuration is one the filter accepts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { ASUtil } from "@assemblyscript/loader";
import { renderBootstrap } from "../../envoy/bootstrap.ts";
import { devFilterConfig } from "../../envoy/filter-config.ts";
import { REALM as HARNESS_REALM } from "../harness/components/keycloak.ts";
import { REALM, environments, filterIdentity, issuerUrl, istioClusterName, meshAuthority, meshClusters, names, placeholder, filterSecrets } from "../../deploy/definition.ts";
import { composeBootstrap, INTROSPECTION_CLIENT_ID, WASM_HTTP_FILTER_TYPE } from "../../deploy/render.ts";
import { loadEntry } from "../../filter-wasm/test/asc.ts";
import { withStrings } from "../../filter-wasm/test/wasm-values.ts";
import { find, rendered, validateFilterConfig, yamlObjects } from "./deploy-support.ts";

type Json = Record<string, any>;

const standalone = () =>
  renderBootstrap({
    listenerPort: 10000,
    adminPort: 9901,
    serverPort: 8081,
    keycloakPort: 8080,
    wasmPath: "/tmp/altgate.wasm",
    filterConfig: devFilterConfig({ keycloakAuthority: "127.0.0.1:8080", realm: REALM, issuer: `http://127.0.0.1:8080/realms/${REALM}` }),
  }) as Json;
const standaloneWasm = (bootstrap: Json): Json =>
  bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters.find(
    (f: Json) => f.typed_config["@type"] === WASM_HTTP_FILTER_TYPE,
  ).typed_config.config as Json;

const envoyFilter = (env: string) => yamlObjects(`istio/alternatives/envoy-filter-${env}.yaml`)[0]!;
const patches = (env: string) => (envoyFilter(env).spec as Json).configPatches as Json[];
const meshWasm = (env: string) => patches(env).find((p) => p.applyTo === "EXTENSION_CONFIG")!.patch.value.typed_config.config as Json;
const pluginConfig = (env: string) => (find(rendered[env]!, "WasmPlugin", names.wasmPlugin).spec as Json).pluginConfig as Json;

/**
 * Where the mesh's configuration may differ from the standalone one, and nowhere else: which
 * cluster and authority the filter calls, the public issuer, and the secrets (placeholders filled
 * at rollout; the local stack sets its own HMAC key per run).
 */
const DEPLOYMENT_SPECIFIC = [
  "issuers.*.cluster",
  "issuers.*.authority",
  "issuers.keycloak.issuer",
  "issuers.*.client_secret",
  "revocations.cluster",
  "revocations.authority",
  "identity.hmac_key",
];
function withoutDeploymentSpecific(config: Json): Json {
  const copy = structuredClone(config);
  for (const path of DEPLOYMENT_SPECIFIC) {
    const keys = path.split(".");
    const visit = (o: Json | undefined, i: number): void => {
      if (!o) return;
      const k = keys[i]!;
      if (i === keys.length - 1) delete o[k];
      else if (k === "*") for (const v of Object.values(o)) visit(v as Json, i + 1);
      else visit(o[k], i + 1);
    };
    visit(copy, 0);
  }
  return copy;
}

describe("the standalone Envoy and the mesh configure the same filter", () => {
  const local = standaloneWasm(standalone());
  const localConfig = JSON.parse(local.configuration.value) as Json;

  it.each(environments.map((e) => e.name))("%s: same Wasm identity and failure policy in the EnvoyFilter", (env) => {
    const mesh = meshWasm(env);
    expect({ name: mesh.name, root_id: mesh.root_id, failure_policy: mesh.failure_policy, vm_id: mesh.vm_config.vm_id, runtime: mesh.vm_config.runtime }).toEqual({
      name: local.name,
      root_id: local.root_id,
      failure_policy: local.failure_policy,
      vm_id: local.vm_config.vm_id,
      runtime: local.vm_config.runtime,
    });
    expect(local).toMatchObject({ root_id: filterIdentity.rootId, failure_policy: "FAIL_CLOSED", vm_config: { vm_id: filterIdentity.vmId, runtime: filterIdentity.runtime } });
    expect(mesh.configuration["@type"]).toBe(local.configuration["@type"]);
  });

  it.each(environments.map((e) => e.name))("%s: the EnvoyFilter inserts the filter before the router, as the standalone chain does", (env) => {
    const [filter, extension] = patches(env) as [Json, Json];
    expect(filter).toMatchObject({
      applyTo: "HTTP_FILTER",
      match: { context: "GATEWAY", listener: { filterChain: { filter: { name: "envoy.filters.network.http_connection_manager", subFilter: { name: "envoy.filters.http.router" } } } } },
      patch: { operation: "INSERT_BEFORE", value: { config_discovery: { type_urls: expect.arrayContaining([WASM_HTTP_FILTER_TYPE]) } } },
    });
    expect(extension.patch.value.name).toBe(filter.patch.value.name);
    const chain = standalone().static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters.map((f: Json) => f.name);
    expect(chain.indexOf("altgate")).toBe(chain.indexOf("envoy.filters.http.router") - 1);
  });

  it.each(environments.map((e) => e.name))("%s: identical configuration apart from the deployment-specific fields", (env) => {
    const mesh = JSON.parse(meshWasm(env).configuration.value) as Json;
    expect(withoutDeploymentSpecific(mesh)).toEqual(withoutDeploymentSpecific(localConfig));
    expect(withoutDeploymentSpecific(mesh).rules).toEqual(localConfig.rules);
  });

  it.each(environments)("$name: the deployment-specific fields map as the definition says", (env) => {
    const mesh = JSON.parse(meshWasm(env.name).configuration.value) as Json;
    const endpoints = (c: Json) => ({ ...c.issuers, ...(c.revocations ? { revocations: c.revocations } : {}) }) as Record<string, Json>;
    const local = endpoints(localConfig);
    for (const [name, endpoint] of Object.entries(endpoints(mesh))) {
      const cluster = meshClusters[local[name]!.cluster];
      expect(cluster, `${name}: standalone cluster ${local[name]!.cluster}`).toBeDefined();
      expect(endpoint.cluster).toBe(istioClusterName(cluster!));
      expect(endpoint.authority).toBe(meshAuthority(cluster!));
    }
    expect(Object.keys(endpoints(mesh))).toEqual(Object.keys(local));
    expect(mesh.issuers.keycloak.issuer).toBe(issuerUrl(env));
    for (const s of filterSecrets) {
      const value = s.path.reduce<any>((o, k) => o?.[k], mesh);
      const before = s.path.reduce<any>((o, k) => o?.[k], localConfig);
      if (before !== undefined || s.path[0] === "identity") expect(value).toBe(placeholder(s.variable));
    }
  });

  it("the standalone clusters are the ones the mapping knows", () => {
    const clusters = standalone().static_resources.clusters.map((c: Json) => c.name).sort();
    expect(Object.keys(meshClusters).sort()).toEqual(clusters);
  });

  it.each(environments.map((e) => e.name))("%s: the WasmPlugin and the EnvoyFilter carry the same module and configuration", (env) => {
    const plugin = find(rendered[env]!, "WasmPlugin", names.wasmPlugin).spec as Json;
    const mesh = meshWasm(env);
    expect(JSON.parse(mesh.configuration.value)).toEqual(plugin.pluginConfig);
    expect(mesh.root_id).toBe(plugin.pluginName);
    expect([plugin.failStrategy, mesh.failure_policy]).toEqual(["FAIL_CLOSE", "FAIL_CLOSED"]);
    expect(mesh.vm_config.code.remote.http_uri.uri).toBe(plugin.url);
    expect(mesh.vm_config.code.remote.sha256).toBe(plugin.sha256);
    expect(envoyFilter(env).spec).toMatchObject({ workloadSelector: { labels: plugin.selector.matchLabels } });
  });

  it("the compose stack's Envoy is the standalone one with its listener opened to the container network", () => {
    const compose = composeBootstrap() as Json;
    expect(compose.static_resources.listeners[0].address.socket_address.address).toBe("0.0.0.0");
    compose.static_resources.listeners[0].address.socket_address.address = "127.0.0.1";
    const config = JSON.parse(standaloneWasm(compose).configuration.value) as Json;
    expect(withoutDeploymentSpecific(config)).toEqual(withoutDeploymentSpecific(localConfig));
    expect(standaloneWasm(compose).vm_config).toEqual({ ...local.vm_config, code: { local: { filename: "/etc/altgate/altgate.wasm" } } });
  });

  it("the realm and the introspection client are the local stack's", () => {
    expect(REALM).toBe(HARNESS_REALM);
    expect(localConfig.issuers.api_tokens.client_id).toBe(INTROSPECTION_CLIENT_ID);
  });
});

describe("every plugin configuration is one the filter accepts", () => {
  const configs: [string, unknown][] = environments.flatMap((e) => [
    [`${e.name} WasmPlugin`, pluginConfig(e.name)] as [string, unknown],
    [`${e.name} EnvoyFilter`, JSON.parse(meshWasm(e.name).configuration.value)] as [string, unknown],
  ]);
  configs.push(["compose", JSON.parse(standaloneWasm(composeBootstrap() as Json).configuration.value)]);

  it.each(configs)("%s: valid against filter-wasm/config.schema.json", (_, config) => {
    expect(validateFilterConfig(config), JSON.stringify(validateFilterConfig.errors)).toBe(true);
  });

  let mod: ASUtil & { parse(json: number): number };
  beforeAll(async () => {
    mod = await loadEntry<{ parse(json: number): number }>("filter-wasm/test/entries/config.ts");
  });
  it.each(configs)("%s: accepted by the filter's own configuration parser", (_, config) => {
    const out = withStrings(mod, [JSON.stringify(config)], ([p]) => mod.__getString(mod.parse(p!)));
    expect(out.startsWith("ok "), out).toBe(true);
  });
});
