// Test entry for config.ts: "ok <the Config as JSON>" or "error <message>".
import { Config, ConfigResult, parseConfig, parseConfigBytes } from "../../assembly/config";
import { Rule } from "../../assembly/rules";
import { jsonString as q } from "../../assembly/filter/denial";

function list(a: Array<string>): string {
  const parts = new Array<string>();
  for (let i = 0; i < a.length; i++) parts.push(q(a[i]));
  return "[" + parts.join(",") + "]";
}

function rule(r: Rule): string {
  return "{\"prefix\":" + q(r.prefix) + ",\"exact\":" + q(r.exact) + ",\"methods\":" + list(r.methods) +
    ",\"public\":" + r.isPublic.toString() + ",\"anyRole\":" + list(r.anyRole) + ",\"allRoles\":" + list(r.allRoles) +
    ",\"scopes\":" + list(r.scopes) + "}";
}

function dump(c: Config): string {
  let out = "{";
  const kc = c.keycloak;
  out += "\"keycloak\":" + (kc === null ? "null" : "{\"cluster\":" + q(kc.cluster) + ",\"authority\":" + q(kc.authority) +
    ",\"introspectionPath\":" + q(kc.introspectionPath) + ",\"clientId\":" + q(kc.clientId) + ",\"clientSecret\":" +
    q(kc.clientSecret) + ",\"timeoutMs\":" + kc.timeoutMs.toString() + ",\"issuer\":" + q(kc.issuer) + ",\"audience\":" +
    q(kc.audience) + "}");
  const at = c.apiTokens;
  out += ",\"apiTokens\":" + (at === null ? "null" : "{\"cluster\":" + q(at.cluster) + ",\"authority\":" + q(at.authority) +
    ",\"introspectionPath\":" + q(at.introspectionPath) + ",\"tokenPrefix\":" + q(at.tokenPrefix) + ",\"clientId\":" +
    q(at.clientId) + ",\"clientSecret\":" + q(at.clientSecret) + ",\"timeoutMs\":" + at.timeoutMs.toString() + "}");
  const rv = c.revocations;
  out += ",\"revocations\":" + (rv === null ? "null" : "{\"cluster\":" + q(rv.cluster) + ",\"authority\":" + q(rv.authority) +
    ",\"path\":" + q(rv.path) + ",\"pollMs\":" + rv.pollMs.toString() + ",\"timeoutMs\":" + rv.timeoutMs.toString() + "}");
  out += ",\"cache\":{\"positiveTtlS\":" + c.cache.positiveTtlS.toString() + ",\"negativeTtlS\":" +
    c.cache.negativeTtlS.toString() + ",\"maxEntries\":" + c.cache.maxEntries.toString() + "}";
  const rules = new Array<string>();
  for (let i = 0; i < c.rules.length; i++) rules.push(rule(c.rules[i]));
  out += ",\"rules\":[" + rules.join(",") + "]";
  out += ",\"identity\":{\"headerPrefix\":" + q(c.identity.headerPrefix) + ",\"stripAuthorization\":" +
    c.identity.stripAuthorization.toString() + ",\"hmacKey\":" + q(c.identity.hmacKey) + "}";
  out += ",\"defaultAllow\":" + c.defaultAllow.toString() + "}";
  return out;
}

function show(r: ConfigResult): string {
  const c = r.config;
  if (!r.ok || c === null) return "error " + r.error;
  return "ok " + dump(c);
}

export function parse(json: string): string {
  return show(parseConfig(json));
}

export function parseBytes(buf: ArrayBuffer): string {
  return show(parseConfigBytes(buf));
}
