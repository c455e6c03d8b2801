// Test entry for rules.ts. Lists cross the boundary as comma-separated strings.
import { DecisionKind, Rule, authorize, canonicalPath, matchRoute } from "../../assembly/rules";

let rules: Rule[] = [];

function list(csv: string): string[] {
  return csv.length == 0 ? [] : csv.split(",");
}

export function resetRules(): void {
  rules = [];
}

export function addRule(prefix: string, exact: string, methods: string, isPublic: bool, anyRole: string, allRoles: string, scopes: string): void {
  const r = new Rule();
  r.prefix = prefix;
  r.exact = exact;
  r.methods = list(methods);
  r.isPublic = isPublic;
  r.anyRole = list(anyRole);
  r.allRoles = list(allRoles);
  r.scopes = list(scopes);
  rules.push(r);
}

/** "public#i", "allowed#i", "denied#i:reason", "nomatch" or "badpath:reason". */
export function evaluate(method: string, path: string, roles: string, scopes: string): string {
  const d = authorize(rules, matchRoute(rules, method, path), list(roles), list(scopes));
  switch (d.kind) {
    case DecisionKind.Public: return "public#" + d.ruleIndex.toString();
    case DecisionKind.Allowed: return "allowed#" + d.ruleIndex.toString();
    case DecisionKind.Denied: return "denied#" + d.ruleIndex.toString() + ":" + d.reason;
    case DecisionKind.NoRuleMatched: return "nomatch";
    case DecisionKind.BadPath: return "badpath:" + d.reason;
  }
  return "protected#" + d.ruleIndex.toString();
}

/** The canonical path, or "!" and the reason it was refused. */
export function canonical(path: string): string {
  const p = canonicalPath(path);
  return p.error == "" ? p.path : "!" + p.error;
}
