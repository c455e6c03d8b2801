import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { Ajv2020 } from "ajv/dist/2020.js";
import { environments, repoRoot } from "../../deploy/definition.ts";
import type { K8sObject } from "../../deploy/models.ts";

export const read = (path: string) => readFileSync(join(repoRoot, path), "utf8");
export const yamlObjects = (path: string) =>
  parseAllDocuments(read(path))
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);

export const yamlFiles = (dir: string): string[] =>
  readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith(".yaml") && e.name !== "kustomization.yaml" ? [join(dir, e.name)] : [],
  );

/** Each environment's committed, rendered overlay. */
export const rendered = Object.fromEntries(environments.map((e) => [e.name, yamlObjects(`k8s/rendered/${e.name}.yaml`)])) as Record<string, K8sObject[]>;

export const find = (objects: K8sObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o;
};

/** The filter's schema with the settings of filter-wasm/test/config.test.ts. */
export const validateFilterConfig = new Ajv2020({ strict: true, strictRequired: false }).compile(JSON.parse(read("filter-wasm/config.schema.json")) as object);

type Pod = { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: Record<string, any> };
export const podTemplate = (o: K8sObject) => (o.spec as { template: Pod }).template;
export const workloads = (objects: K8sObject[]) => objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
export const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
