/**
 * The one description of altgate on Kubernetes with Istio: names, ports, images, secrets (by name
 * only), per-environment scaling and the filter configuration. deploy/render.ts turns it into the
 * istio/ and k8s/ manifests and compose.yaml; nothing there is written by hand.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { devFilterConfig } from "../envoy/filter-config.ts";
import { KEYCLOAK_VERSION } from "../test/harness/versions.ts";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };

export const NAMESPACE = "altgate";
export const TRUST_DOMAIN = "cluster.local";
export const REALM = "altgate";
export const fqdn = (service: string) => `${service}.${NAMESPACE}.svc.cluster.local`;
export const principal = (serviceAccount: string) => `${TRUST_DOMAIN}/ns/${NAMESPACE}/sa/${serviceAccount}`;

/** A placeholder registry (the reserved .example domain): set it to yours before the first push. */
export const REGISTRY = "registry.altgate.example/altgate";

export const names = {
  server: "altgate-server",
  modelRuntime: "model-runtime",
  keycloak: "keycloak",
  postgres: "postgres",
  /** The gateway that runs the filter and serves the API host. */
  apiGateway: "altgate-gateway",
  /**
   * Keycloak's public endpoints need a gateway without the filter: the filter denies every path
   * its rules do not name, and a WasmPlugin applies to a whole gateway workload.
   */
  authGateway: "altgate-auth-gateway",
  wasmPlugin: "altgate-filter",
} as const;

export const modelWorkload = (model: string) => `model-${model}`;

export const ports = {
  server: 8081,
  modelRuntime: 9000,
  keycloakHttp: 8080,
  keycloakManagement: 9000,
  /** Infinispan's JGroups transport and its failure detector (FD_SOCK2 = transport + 50000). */
  keycloakJgroups: 7800,
  keycloakJgroupsFd: 57800,
  postgres: 5432,
  /** Gateway pods run unprivileged, so their Services map 80/443 onto these. */
  gatewayHttp: 8080,
  gatewayHttps: 8443,
  gatewayStatus: 15021,
} as const;

/** Numeric ids, because runAsNonRoot can only be verified by the kubelet for numeric users. */
export const uids = { node: 1000, keycloak: 1000, postgres: 999, istioProxy: 1337 } as const;

export const images = {
  server: `${REGISTRY}/server:${pkg.version}`,
  modelRuntime: `${REGISTRY}/model-runtime:${pkg.version}`,
  /** Built from deploy/keycloak/Dockerfile: an optimized Keycloak runs on a read-only root. */
  keycloak: `${REGISTRY}/keycloak:${KEYCLOAK_VERSION}`,
  postgres: "docker.io/library/postgres:18",
  /** The filter's OCI image (npm run build:wasm-image); its tag is derived from the .wasm. */
  filter: `${REGISTRY}/filter`,
} as const;

/**
 * Secrets are created by the operator (README, "Rolling out on Kubernetes with Istio"); the
 * manifests only name them. Passwords that end up in URLs must be URL-safe (hex).
 */
export const secrets = {
  postgres: { name: "postgres-credentials", password: "password", keycloakPassword: "keycloak-password" },
  keycloakAdmin: { name: "keycloak-bootstrap-admin", username: "username", password: "password" },
  /** The filter's credentials at Keycloak's introspection endpoint (client altgate-gateway). */
  gatewayClient: { name: "altgate-gateway-client", key: "client-secret" },
  /** What the filter presents to the server's /internal/v1/introspect. */
  introspectionClient: { name: "altgate-introspection-client", key: "client-secret" },
  identityHmac: { name: "altgate-identity-hmac", key: "hmac-key" },
  apiTls: "altgate-api-tls",
  authTls: "altgate-auth-tls",
  registryPull: "altgate-registry",
} as const;

/**
 * A WasmPlugin's pluginConfig cannot reference a Secret, so its secret fields hold envsubst
 * placeholders that the rollout fills from the Secrets above (README). Each is long enough and
 * printable enough for the filter's schema, so the committed files still validate.
 */
export const filterSecrets = [
  { path: ["issuers", "keycloak", "client_secret"], variable: "ALTGATE_GATEWAY_CLIENT_SECRET", secret: secrets.gatewayClient },
  { path: ["issuers", "api_tokens", "client_secret"], variable: "ALTGATE_INTROSPECTION_CLIENT_SECRET", secret: secrets.introspectionClient },
  { path: ["identity", "hmac_key"], variable: "ALTGATE_FILTER_IDENTITY_HMAC_KEY", secret: secrets.identityHmac },
] as const;
export const placeholder = (variable: string) => `\${${variable}}`;

/**
 * The clusters the filter calls out to, by their name in the standalone Envoy configuration
 * (envoy/bootstrap.ts), and where they live in the mesh. Istio names a Service's outbound cluster
 * outbound|<port>||<host>; that cluster exists in the gateway because the host is a mesh Service.
 */
export const meshClusters: Record<string, { service: string; port: number }> = {
  keycloak: { service: names.keycloak, port: ports.keycloakHttp },
  "altgate-server": { service: names.server, port: ports.server },
};
export const istioClusterName = (c: { service: string; port: number }) => `outbound|${c.port}||${fqdn(c.service)}`;
export const meshAuthority = (c: { service: string; port: number }) => `${fqdn(c.service)}:${c.port}`;

/** The ONNX models the model runtime serves: every models/<name>/ whose manifest names an .onnx artifact. */
export const onnxModels: string[] = readdirSync(join(repoRoot, "models"), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(repoRoot, "models", d.name, "manifest.json")))
  .map((d) => d.name)
  .filter((name) => {
    const manifest = JSON.parse(readFileSync(join(repoRoot, "models", name, "manifest.json"), "utf8")) as { artifact?: string };
    return manifest.artifact?.endsWith(".onnx") ?? false;
  })
  .sort();

export interface Scaling {
  replicas: number;
  minReplicas: number;
  maxReplicas: number;
}
export interface Resources {
  requests: { cpu: string; memory: string };
  limits: { memory: string };
}
export interface Environment {
  name: string;
  apiHost: string;
  authHost: string;
  logLevel: string;
  scaling: { server: Scaling; gateway: Scaling; authGateway: Scaling; model: Scaling };
  keycloakReplicas: number;
  postgresStorage: string;
  resources: { server: Resources; gateway: Resources; model: Resources; keycloak: Resources; postgres: Resources };
}

/**
 * CPU has requests but no limit: a CPU limit throttles a latency-sensitive proxy or server even on
 * an idle node, while the request already reserves its share. Memory has a limit: a leak is killed
 * and restarted rather than starving the node.
 */
const res = (cpu: string, memory: string, memoryLimit: string): Resources => ({ requests: { cpu, memory }, limits: { memory: memoryLimit } });

/** The kustomize base; overlays carry only what differs from it. */
export const base: Environment = {
  name: "base",
  apiHost: "api.altgate.example",
  authHost: "auth.altgate.example",
  logLevel: "info",
  scaling: {
    server: { replicas: 2, minReplicas: 2, maxReplicas: 6 },
    gateway: { replicas: 2, minReplicas: 2, maxReplicas: 6 },
    authGateway: { replicas: 2, minReplicas: 2, maxReplicas: 4 },
    model: { replicas: 2, minReplicas: 2, maxReplicas: 4 },
  },
  keycloakReplicas: 2,
  postgresStorage: "20Gi",
  resources: {
    server: res("250m", "256Mi", "512Mi"),
    gateway: res("500m", "256Mi", "1Gi"),
    model: res("250m", "256Mi", "1Gi"),
    keycloak: res("500m", "1Gi", "2Gi"),
    postgres: res("250m", "512Mi", "1Gi"),
  },
};

export const environments: Environment[] = [
  {
    ...base,
    name: "dev",
    apiHost: "api.dev.altgate.example",
    authHost: "auth.dev.altgate.example",
    logLevel: "debug",
    scaling: {
      server: { replicas: 1, minReplicas: 1, maxReplicas: 2 },
      gateway: { replicas: 1, minReplicas: 1, maxReplicas: 2 },
      authGateway: { replicas: 1, minReplicas: 1, maxReplicas: 2 },
      model: { replicas: 1, minReplicas: 1, maxReplicas: 2 },
    },
    keycloakReplicas: 1,
    postgresStorage: "2Gi",
    resources: {
      server: res("100m", "128Mi", "512Mi"),
      gateway: res("100m", "128Mi", "512Mi"),
      model: res("100m", "128Mi", "512Mi"),
      keycloak: res("250m", "768Mi", "1536Mi"),
      postgres: res("100m", "256Mi", "512Mi"),
    },
  },
  {
    ...base,
    name: "prod",
    scaling: {
      server: { replicas: 3, minReplicas: 3, maxReplicas: 12 },
      gateway: { replicas: 3, minReplicas: 3, maxReplicas: 12 },
      authGateway: { replicas: 2, minReplicas: 2, maxReplicas: 6 },
      model: { replicas: 2, minReplicas: 2, maxReplicas: 8 },
    },
    keycloakReplicas: 3,
    postgresStorage: "100Gi",
    resources: {
      ...base.resources,
      server: res("500m", "512Mi", "1Gi"),
      gateway: res("1", "512Mi", "1Gi"),
    },
  },
];

export const issuerUrl = (env: Environment) => `https://${env.authHost}/realms/${REALM}`;

type Json = Record<string, unknown>;

/**
 * The standalone filter configuration (envoy/filter-config.ts, the same rules and settings the
 * local stack and every end-to-end test use) moved into the mesh. These are all the differences,
 * and a test checks that there are no others:
 *   - every `cluster` becomes the Istio outbound cluster of its Service (meshClusters), and the
 *     `authority` next to it that Service's in-cluster host and port;
 *   - the Keycloak issuer is the environment's public realm URL;
 *   - secret fields become placeholders filled at rollout (filterSecrets); identity.hmac_key is
 *     always set, so the server can require signed identity headers.
 */
export function meshFilterConfig(env: Environment): Json {
  const standalone = devFilterConfig({ keycloakAuthority: meshAuthority(meshClusters.keycloak!), realm: REALM, issuer: issuerUrl(env) });
  return toMesh(standalone);
}

export function toMesh(standalone: Json): Json {
  const config = structuredClone(standalone);
  const relocate = (endpoint: Json, where: string) => {
    const cluster = meshClusters[endpoint.cluster as string];
    if (!cluster) throw new Error(`${where}.cluster "${String(endpoint.cluster)}" has no place in the mesh: add it to meshClusters in deploy/definition.ts`);
    endpoint.cluster = istioClusterName(cluster);
    endpoint.authority = meshAuthority(cluster);
  };
  for (const [name, issuer] of Object.entries(config.issuers as Record<string, Json>)) relocate(issuer, `issuers.${name}`);
  if (config.revocations) relocate(config.revocations as Json, "revocations");
  config.identity ??= {};
  for (const { path, variable } of filterSecrets) {
    const parent = path.slice(0, -1).reduce<Json | undefined>((o, k) => o?.[k] as Json | undefined, config);
    if (parent) parent[path.at(-1)!] = placeholder(variable);
  }
  return config;
}

/** The filter's identity inside Envoy, shared by the standalone bootstrap, the WasmPlugin and the EnvoyFilter. */
export const filterIdentity = { rootId: "altgate", vmId: "altgate", runtime: "envoy.wasm.runtime.v8" } as const;
