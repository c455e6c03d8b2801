/**
 * The Kubernetes and Istio API types the manifests use, with their schema validators
 * (kubernetes-models, @kubernetes-models/istio). Building an object through its class gives
 * TypeScript's excess-property check on top of the JSON Schema check of validate().
 */
import { ConfigMap, Namespace, Service, ServiceAccount } from "kubernetes-models/v1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { WasmPlugin } from "@kubernetes-models/istio/extensions.istio.io/v1alpha1";
import { DestinationRule, Gateway, VirtualService } from "@kubernetes-models/istio/networking.istio.io/v1";
import { EnvoyFilter } from "@kubernetes-models/istio/networking.istio.io/v1alpha3";
import { AuthorizationPolicy, PeerAuthentication } from "@kubernetes-models/istio/security.istio.io/v1";

export {
  ConfigMap,
  Namespace,
  Service,
  ServiceAccount,
  Deployment,
  StatefulSet,
  HorizontalPodAutoscaler,
  PodDisruptionBudget,
  NetworkPolicy,
  Role,
  RoleBinding,
  WasmPlugin,
  DestinationRule,
  Gateway,
  VirtualService,
  EnvoyFilter,
  AuthorizationPolicy,
  PeerAuthentication,
};

interface Validatable {
  validate(): void;
}
const classes: Record<string, new (data: never) => Validatable> = {};
for (const C of [
  ConfigMap,
  Namespace,
  Service,
  ServiceAccount,
  Deployment,
  StatefulSet,
  HorizontalPodAutoscaler,
  PodDisruptionBudget,
  NetworkPolicy,
  Role,
  RoleBinding,
  WasmPlugin,
  DestinationRule,
  Gateway,
  VirtualService,
  EnvoyFilter,
  AuthorizationPolicy,
  PeerAuthentication,
]) {
  const sample = new (C as unknown as new () => { apiVersion: string; kind: string })();
  classes[`${sample.apiVersion}/${sample.kind}`] = C as unknown as new (data: never) => Validatable;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Validates a plain object (as parsed from YAML) against the schema of its apiVersion and kind. */
export function validateObject(o: K8sObject): void {
  const C = classes[`${o.apiVersion}/${o.kind}`];
  if (!C) throw new Error(`no schema for ${o.apiVersion} ${o.kind} (${o.metadata?.name})`);
  const { apiVersion: _a, kind: _k, ...data } = o;
  new C(data as never).validate();
}

export const objectId = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
