// Test entry for introspection.ts: identities out as JSON text.
import {
  Identity, basicAuthorization, formUrlEncode, introspectionRequestBody, parseIntrospection, parseIntrospectionBytes,
  validateIdentity,
} from "../../assembly/introspection";
import { jsonString as q } from "../../assembly/filter/denial";

function list(a: Array<string>): string {
  const parts = new Array<string>();
  for (let i = 0; i < a.length; i++) parts.push(q(a[i]));
  return "[" + parts.join(",") + "]";
}

function dump(id: Identity): string {
  return "{\"active\":" + id.active.toString() + ",\"error\":" + q(id.error) + ",\"sub\":" + q(id.sub) +
    ",\"username\":" + q(id.username) + ",\"clientId\":" + q(id.clientId) + ",\"azp\":" + q(id.azp) +
    ",\"iss\":" + q(id.iss) + ",\"aud\":" + list(id.aud) + ",\"exp\":" + id.exp.toString() + ",\"nbf\":" +
    id.nbf.toString() + ",\"iat\":" + id.iat.toString() + ",\"jti\":" + q(id.jti) + ",\"scopes\":" +
    list(id.scopes) + ",\"roles\":" + list(id.roles) + "}";
}

export function parse(body: string, roleClient: string): string {
  return dump(parseIntrospection(body, roleClient));
}

export function parseBytes(body: ArrayBuffer, roleClient: string): string {
  return dump(parseIntrospectionBytes(body, roleClient));
}

/** The validation reason ("" when valid) of a parsed body. */
export function check(body: string, roleClient: string, nowS: i64, issuer: string, audience: string): string {
  return validateIdentity(parseIntrospection(body, roleClient), nowS, issuer, audience);
}

export function checkBytes(body: ArrayBuffer, roleClient: string, nowS: i64, issuer: string, audience: string): string {
  return validateIdentity(parseIntrospectionBytes(body, roleClient), nowS, issuer, audience);
}

export function requestBody(token: string): string {
  return introspectionRequestBody(token);
}

export function urlencode(s: string): string {
  return formUrlEncode(s);
}

export function basic(clientId: string, clientSecret: string): string {
  return basicAuthorization(clientId, clientSecret);
}
