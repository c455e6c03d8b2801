/**
 * The part of kustomize the manifests use, so overlays can be rendered and checked here without a
 * kustomize binary: a kustomization.yaml with `resources` (YAML files, or folders holding a
 * kustomization.yaml) and `patches` that name a file of RFC 6902 JSON patch operations and a
 * `target` (kind, name, optional namespace). Anything else in a kustomization is refused, so the
 * files never use a feature this does not implement.
 */
import { posix } from "node:path";
import { parseAllDocuments, parse } from "yaml";
import type { K8sObject } from "./models.ts";

export type Op =
  | { op: "add" | "replace"; path: string; value: unknown }
  | { op: "remove"; path: string };

export interface Kustomization {
  apiVersion: "kustomize.config.k8s.io/v1beta1";
  kind: "Kustomization";
  resources: string[];
  patches?: { path: string; target: { kind: string; name: string; namespace?: string } }[];
}

/** Reads a file of the tree by its path relative to the tree's root; undefined when absent. */
export type ReadFile = (path: string) => string | undefined;

export function build(dir: string, read: ReadFile): K8sObject[] {
  const text = read(posix.join(dir, "kustomization.yaml"));
  if (text === undefined) throw new Error(`${dir}: no kustomization.yaml`);
  const k = parse(text) as Kustomization;
  const known = new Set(["apiVersion", "kind", "resources", "patches"]);
  for (const key of Object.keys(k)) if (!known.has(key)) throw new Error(`${dir}/kustomization.yaml: "${key}" is not supported by deploy/kustomize.ts`);
  const objects: K8sObject[] = [];
  for (const resource of k.resources) {
    const path = posix.join(dir, resource);
    if (read(posix.join(path, "kustomization.yaml")) !== undefined) objects.push(...build(path, read));
    else {
      const file = read(path);
      if (file === undefined) throw new Error(`${dir}/kustomization.yaml: resource ${resource} not found`);
      objects.push(...parseAllDocuments(file).map((d) => d.toJS() as K8sObject).filter((o) => o !== null));
    }
  }
  for (const patch of k.patches ?? []) {
    const { kind, name, namespace } = patch.target;
    const matches = objects.filter((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
    if (matches.length !== 1) throw new Error(`${dir}: patch ${patch.path} matches ${matches.length} objects`);
    const file = read(posix.join(dir, patch.path));
    if (file === undefined) throw new Error(`${dir}: patch file ${patch.path} not found`);
    const index = objects.indexOf(matches[0]!);
    objects[index] = applyPatch(matches[0]!, parse(file) as Op[]) as K8sObject;
  }
  return objects;
}

const unescape = (token: string) => token.replace(/~1/g, "/").replace(/~0/g, "~");
const escape = (key: string) => key.replace(/~/g, "~0").replace(/\//g, "~1");

export function applyPatch<T>(doc: T, ops: Op[]): T {
  const root = { doc: structuredClone(doc) } as Record<string, unknown>;
  for (const op of ops) {
    const tokens = ["doc", ...op.path.split("/").slice(1).map(unescape)];
    let parent = root as Record<string, unknown> | unknown[];
    for (const t of tokens.slice(0, -1)) {
      const next = (parent as Record<string, unknown>)[t];
      if (next === null || typeof next !== "object") throw new Error(`patch ${op.op} ${op.path}: no such path`);
      parent = next as Record<string, unknown>;
    }
    const last = tokens.at(-1)!;
    if (Array.isArray(parent)) {
      const i = last === "-" ? parent.length : Number(last);
      if (op.op === "add") parent.splice(i, 0, structuredClone(op.value));
      else if (op.op === "replace") parent[i] = structuredClone(op.value);
      else parent.splice(i, 1);
    } else if (op.op === "remove" || op.op === "replace") {
      if (!(last in parent)) throw new Error(`patch ${op.op} ${op.path}: no such member`);
      if (op.op === "remove") delete parent[last];
      else parent[last] = structuredClone(op.value);
    } else parent[last] = structuredClone(op.value);
  }
  return root.doc as T;
}

/** The operations that turn `from` into `to`: members by key, arrays by position. */
export function diff(from: unknown, to: unknown, path = ""): Op[] {
  if (JSON.stringify(from) === JSON.stringify(to)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
  if (Array.isArray(from) && Array.isArray(to)) {
    const ops: Op[] = [];
    const common = Math.min(from.length, to.length);
    for (let i = 0; i < common; i++) ops.push(...diff(from[i], to[i], `${path}/${i}`));
    for (let i = from.length - 1; i >= common; i--) ops.push({ op: "remove", path: `${path}/${i}` });
    for (let i = common; i < to.length; i++) ops.push({ op: "add", path: `${path}/${i}`, value: to[i] });
    return ops;
  }
  if (isObject(from) && isObject(to)) {
    const ops: Op[] = [];
    for (const key of Object.keys(from)) if (!(key in to)) ops.push({ op: "remove", path: `${path}/${escape(key)}` });
    for (const [key, value] of Object.entries(to)) {
      const p = `${path}/${escape(key)}`;
      ops.push(...(key in from ? diff(from[key], value, p) : [{ op: "add" as const, path: p, value }]));
    }
    return ops;
  }
  return [{ op: "replace", path, value: to }];
}
