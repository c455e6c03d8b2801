/**
 * The generated Kubernetes and Istio manifests: every object against its API schema, every
 * overlay rendered, and the rules the rollout relies on (security context, probes, scaling,
 * references between objects, who may call whom).
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { parseAllDocuments } from "yaml";
import { environments, filterSecrets, fqdn, meshClusters, istioClusterName, names, onnxModels, principal, repoRoot, secrets, ports } from "../../deploy/definition.ts";
import { build } from "../../deploy/kustomize.ts";
import { objectId, validateObject, type K8sObject } from "../../deploy/models.ts";
import { find, matches, podTemplate, read, rendered, workloads, yamlFiles, yamlObjects } from "./deploy-support.ts";

describe("schemas", () => {
  const files = [...yamlFiles("istio"), ...yamlFiles("k8s")].filter((f) => !f.includes("/patches/"));
  it.each(files)("every object of %s is valid", (file) => {
    const objects = yamlObjects(file);
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) expect(() => validateObject(o), objectId(o)).not.toThrow();
  });

  it("a schema violation is reported", () => {
    const deployment = structuredClone(find(rendered.prod!, "Deployment", names.server));
    (deployment.spec as { replicas?: unknown }).replicas = "three";
    expect(() => validateObject(deployment)).toThrow(/replicas must be integer/);
    const plugin = structuredClone(find(rendered.prod!, "WasmPlugin", names.wasmPlugin));
    (plugin.spec as { failStrategy: string }).failStrategy = "FAIL_CLOSED";
    expect(() => validateObject(plugin)).toThrow(/failStrategy/);
  });
});

describe("overlays", () => {
  const fromDisk = (p: string) => {
    try {
      return read(p);
    } catch {
      return undefined;
    }
  };
  it.each(environments.map((e) => e.name))("%s: the committed overlay builds to the committed rendering", (env) => {
    expect(build(`k8s/overlays/${env}`, fromDisk)).toEqual(rendered[env]);
  });

  it("overlays change settings, not the set of objects, and differ from each other", () => {
    const ids = (objects: K8sObject[]) => objects.map(objectId).sort();
    expect(ids(rendered.dev!)).toEqual(ids(rendered.prod!));
    expect(find(rendered.dev!, "HorizontalPodAutoscaler", names.server).spec).toMatchObject({ minReplicas: 1 });
    expect(find(rendered.prod!, "HorizontalPodAutoscaler", names.server).spec).toMatchObject({ minReplicas: 3 });
  });

  // kubectl comes with this machine image (google-cloud-sdk); a machine without it fails here
  // rather than skipping, so the comparison with the real kustomize is never silently lost.
  it.each(environments.map((e) => e.name))("%s: kubectl kustomize builds the same objects", (env) => {
    const out = execFileSync("kubectl", ["kustomize", `k8s/overlays/${env}`], { cwd: repoRoot, encoding: "utf8", timeout: 60_000 });
    const theirs = parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
    const byId = (objects: K8sObject[]) => new Map(objects.map((o) => [objectId(o), o]));
    expect(byId(theirs)).toEqual(byId(rendered[env]!));
  });
});

describe.each(environments.map((e) => e.name))("%s", (env) => {
  const objects = rendered[env]!;
  const of = (kind: string) => objects.filter((o) => o.kind === kind);

  it("runs every container unprivileged, read-only, without capabilities, with the default seccomp profile", () => {
    for (const w of workloads(objects)) {
      const pod = podTemplate(w).spec;
      expect(pod.securityContext, w.metadata.name).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      expect(pod.securityContext.runAsUser, w.metadata.name).toBeGreaterThan(0);
      for (const c of pod.containers) {
        expect(c.securityContext, `${w.metadata.name}/${c.name}`).toMatchObject({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        });
      }
    }
  });

  it("gives every container probes and resources, and spreads every workload", () => {
    for (const w of workloads(objects)) {
      const pod = podTemplate(w).spec;
      expect(pod.topologySpreadConstraints?.length, w.metadata.name).toBeGreaterThan(0);
      for (const c of pod.containers) {
        expect(c.readinessProbe, `${w.metadata.name} readiness`).toBeDefined();
        expect(c.livenessProbe, `${w.metadata.name} liveness`).toBeDefined();
        expect(c.resources?.requests?.cpu, `${w.metadata.name} cpu`).toBeDefined();
        expect(c.resources?.requests?.memory, `${w.metadata.name} memory`).toBeDefined();
        expect(c.resources?.limits?.memory, `${w.metadata.name} memory limit`).toBeDefined();
      }
    }
  });

  it("scales every Deployment with an HPA (and leaves replicas to it) and bounds disruptions", () => {
    for (const d of of("Deployment")) {
      expect((d.spec as { replicas?: number }).replicas, d.metadata.name).toBeUndefined();
      const hpa = of("HorizontalPodAutoscaler").find((h) => (h.spec as any).scaleTargetRef.name === d.metadata.name);
      expect(hpa, `HPA for ${d.metadata.name}`).toBeDefined();
      expect((hpa!.spec as any).minReplicas).toBeLessThanOrEqual((hpa!.spec as any).maxReplicas);
    }
    for (const w of workloads(objects).filter((w) => w.metadata.name !== names.postgres)) {
      const pdb = of("PodDisruptionBudget").find((p) => matches((p.spec as any).selector.matchLabels, podTemplate(w).metadata.labels));
      expect(pdb, `PDB for ${w.metadata.name}`).toBeDefined();
    }
  });

  it("runs one Deployment and Service per model, and the server's registry names each", () => {
    const registry = JSON.parse((find(objects, "ConfigMap", "altgate-model-registry").data as any)["models.json"]) as { manifest: string; endpoint: string }[];
    const manifests = find(objects, "ConfigMap", "altgate-model-manifests").data as Record<string, string>;
    expect(onnxModels.length).toBeGreaterThanOrEqual(3);
    for (const model of onnxModels) {
      find(objects, "Deployment", `model-${model}`);
      find(objects, "Service", `model-${model}`);
      expect(registry).toContainEqual(expect.objectContaining({ endpoint: `http://${fqdn(`model-${model}`)}:${ports.modelRuntime}` }));
      expect(JSON.parse(manifests[`${model}.json`]!)).toEqual(JSON.parse(read(`models/${model}/manifest.json`)));
    }
  });

  it("gives every Service pods to send to, on ports those pods open", () => {
    for (const s of of("Service")) {
      const spec = s.spec as { selector: Record<string, string>; ports: { targetPort: number }[] };
      const targets = workloads(objects).filter((w) => matches(spec.selector, podTemplate(w).metadata.labels));
      expect(targets.length, s.metadata.name).toBe(1);
      const open = podTemplate(targets[0]!).spec.containers.flatMap((c: any) => c.ports.map((p: any) => p.containerPort));
      for (const p of spec.ports) expect(open, `${s.metadata.name}:${p.targetPort}`).toContain(p.targetPort);
    }
  });

  it("references ConfigMaps it defines and Secrets by name only, never with their values", () => {
    expect(of("Secret")).toEqual([]);
    const secretNames = new Set<string>([
      secrets.postgres.name,
      secrets.keycloakAdmin.name,
      secrets.gatewayClient.name,
      secrets.introspectionClient.name,
      secrets.identityHmac.name,
    ]);
    for (const w of workloads(objects)) {
      const pod = podTemplate(w).spec;
      for (const v of pod.volumes ?? []) if (v.configMap) find(objects, "ConfigMap", v.configMap.name);
      for (const c of pod.containers)
        for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) expect(secretNames, `${w.metadata.name} ${e.name}`).toContain(e.valueFrom.secretKeyRef.name);
    }
  });

  it("puts every mesh workload behind STRICT mTLS and an ALLOW policy naming its callers", () => {
    expect(find(objects, "PeerAuthentication", "default").spec).toEqual({ mtls: { mode: "STRICT" } });
    expect(find(objects, "AuthorizationPolicy", "default-deny").spec).toEqual({});
    const policies = of("AuthorizationPolicy").filter((p) => (p.spec as any).selector);
    for (const w of workloads(objects)) {
      const labels = podTemplate(w).metadata.labels;
      expect(policies.some((p) => matches((p.spec as any).selector.matchLabels, labels)), w.metadata.name).toBe(true);
    }
    const server = find(objects, "AuthorizationPolicy", "allow-server-from-gateway").spec as any;
    expect(server.rules).toEqual([{ from: [{ source: { principals: [principal(names.apiGateway)] } }], to: [{ operation: { ports: [String(ports.server)] } }] }]);
    const gatewayAccount = podTemplate(find(objects, "Deployment", names.apiGateway)).spec.serviceAccountName;
    expect(principal(gatewayAccount)).toBe("cluster.local/ns/altgate/sa/altgate-gateway");
  });

  it("routes the public hosts through their gateways to existing Services and keeps internal routes out", () => {
    for (const vs of of("VirtualService")) {
      const spec = vs.spec as any;
      const gw = find(objects, "Gateway", spec.gateways[0]);
      const gwPods = workloads(objects).filter((w) => matches((gw.spec as any).selector, podTemplate(w).metadata.labels));
      expect(gwPods.length, vs.metadata.name).toBe(1);
      expect((gw.spec as any).servers.flatMap((s: any) => s.hosts)).toContain(spec.hosts[0]);
      for (const route of spec.http.flatMap((h: any) => h.route ?? [])) {
        const svc = of("Service").find((s) => fqdn(s.metadata.name) === route.destination.host);
        expect(svc, route.destination.host).toBeDefined();
        expect((svc!.spec as any).ports.map((p: any) => p.port)).toContain(route.destination.port.number);
      }
    }
    const api = find(objects, "VirtualService", "altgate-api").spec as any;
    expect(api.http[0].match).toContainEqual({ uri: { prefix: "/internal/" } });
    expect(api.http[0].directResponse).toEqual({ status: 404 });
  });

  it("installs the filter on the API gateway only, fail-closed, before Istio's authentication", () => {
    const plugin = find(objects, "WasmPlugin", names.wasmPlugin).spec as any;
    expect(plugin).toMatchObject({ phase: "AUTHN", failStrategy: "FAIL_CLOSE", pluginName: "altgate" });
    expect(plugin.url).toMatch(/^oci:\/\//);
    expect(plugin.sha256).toMatch(/^[0-9a-f]{64}$/);
    const selected = workloads(objects).filter((w) => matches(plugin.selector.matchLabels, podTemplate(w).metadata.labels));
    expect(selected.map((w) => w.metadata.name)).toEqual([names.apiGateway]);
  });

  it("points every cluster of the filter at a Service of the mesh, with a matching authority", () => {
    const config = (find(objects, "WasmPlugin", names.wasmPlugin).spec as any).pluginConfig;
    const endpoints = [...Object.values(config.issuers), ...(config.revocations ? [config.revocations] : [])] as { cluster: string; authority: string }[];
    expect(endpoints.length).toBeGreaterThan(0);
    for (const e of endpoints) {
      const m = /^outbound\|(\d+)\|\|([^.]+)\.altgate\.svc\.cluster\.local$/.exec(e.cluster);
      expect(m, e.cluster).not.toBeNull();
      const svc = find(objects, "Service", m![2]!);
      expect((svc.spec as any).ports.map((p: any) => p.port)).toContain(Number(m![1]));
      expect(e.authority).toBe(`${fqdn(m![2]!)}:${m![1]}`);
    }
    expect(Object.values(meshClusters).map(istioClusterName).sort()).toEqual([...new Set(endpoints.map((e) => e.cluster))].sort());
  });

  it("connects to Keycloak faster than the filter gives up on it", () => {
    const config = (find(objects, "WasmPlugin", names.wasmPlugin).spec as any).pluginConfig;
    const connect = (find(objects, "DestinationRule", names.keycloak).spec as any).trafficPolicy.connectionPool.tcp.connectTimeout as string;
    expect(Number(connect.replace(/ms$/, ""))).toBeLessThan(config.issuers.keycloak.timeout_ms);
  });

  it("leaves the filter's secrets as placeholders that name Secrets the server reads too", () => {
    const text = JSON.stringify((find(objects, "WasmPlugin", names.wasmPlugin).spec as any).pluginConfig);
    const server = podTemplate(find(objects, "Deployment", names.server)).spec.containers[0].env as any[];
    const serverSecrets = server.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.valueFrom.secretKeyRef.name);
    for (const s of filterSecrets) {
      if (!text.includes(`\${${s.variable}}`)) continue;
      if (s.secret.name !== secrets.gatewayClient.name) expect(serverSecrets).toContain(s.secret.name);
    }
    expect(text).toContain("${ALTGATE_GATEWAY_CLIENT_SECRET}");
    expect(text).toContain("${ALTGATE_FILTER_IDENTITY_HMAC_KEY}");
  });
});

it("no file of istio/ or k8s/ holds a development secret", () => {
  const realm = JSON.parse(read("test/fixtures/altgate-realm.json")) as { clients: { secret?: string }[]; users: { credentials?: { value: string }[] }[] };
  const devSecrets = [
    ...realm.clients.flatMap((c) => (c.secret ? [c.secret] : [])),
    ...realm.users.flatMap((u) => (u.credentials ?? []).map((c) => c.value)),
    // The local stack's (test/harness/stack.ts, envoy/filter-config.ts) and compose.yaml's.
    "introspection-dev-secret",
    "admin-dev-password",
    "altgate-dev-password",
  ];
  expect(devSecrets).toContain("gateway-dev-secret");
  for (const file of [...yamlFiles("istio"), ...yamlFiles("k8s")]) for (const s of devSecrets) expect(read(file), `${file}: ${s}`).not.toContain(s);
});
