// OAuth 2.0 token introspection (RFC 7662): the request the filter sends to an issuer, and what it
// makes of the answer.
//
// Roles. Route rules match plain role names. They come from `realm_access.roles` and from
// `resource_access.<role client>.roles`, where the role client is the configured audience
// (keycloak.audience). Roles of any other client are dropped, not kept as "client:role": Keycloak
// puts roles of every client the user has roles in into a token (account, realm-management, …),
// those must not authorize anything here, and "client:role" would be ambiguous with role names that
// contain ':' such as "model:read". The token service answers for API tokens in the same shape
// (`realm_access.roles`), so one parser serves both issuers.
//
// A body that is not an introspection response, or whose security-relevant claims have the wrong
// type, yields an inactive Identity with `error` naming the claim; the caller turns that into a
// denial. Only `"active": true` (the JSON boolean) can make an Identity active.

import { base64Encode } from "./base64";
import { JsonKind, JsonValue, parseJson } from "./json";
import { decodeUtf8, encodeUtf8 } from "./utf8";

/** Larger issuer responses are refused rather than parsed. */
export const INTROSPECTION_MAX_LENGTH: i32 = 256 * 1024;
const INTROSPECTION_MAX_DEPTH: i32 = 32;
/** How far nbf may lie ahead of our clock, for issuers whose clocks run slightly ahead. */
export const CLOCK_SKEW_S: i64 = 30;
// NumericDates past 2^53 have no exact f64 form; no real token lives that long.
const MAX_NUMERIC_DATE: f64 = 9007199254740991;

export class Identity {
  active: bool = false;
  /** Why the body is not a usable introspection response; "" when it is. Never holds a token. */
  error: string = "";
  /**
   * True when the body is not an RFC 7662 response (not JSON, not an object, no boolean `active`):
   * a fault of the issuer, answered like an outage rather than cached as a verdict on the token.
   */
  unreadable: bool = false;
  sub: string = "";
  /** preferred_username, else username. */
  username: string = "";
  /** client_id, else azp. */
  clientId: string = "";
  azp: string = "";
  iss: string = "";
  aud: Array<string> = [];
  /** Seconds since the epoch; 0 when the claim is absent. */
  exp: i64 = 0;
  nbf: i64 = 0;
  iat: i64 = 0;
  jti: string = "";
  /** The space-separated `scope` claim, split. */
  scopes: Array<string> = [];
  /** Realm roles, then roles of the role client; distinct. */
  roles: Array<string> = [];
}

function invalid(error: string): Identity {
  const id = new Identity();
  id.error = error;
  return id;
}

/** A body that is no introspection response at all: the issuer misbehaves, the token is not judged. */
function unreadable(error: string): Identity {
  const id = invalid(error);
  id.unreadable = true;
  return id;
}

/** Control characters (C0, DEL, C1) would let a claim forge or split a header line. */
function hasControl(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** A role or scope that can travel in a comma- or space-separated header: printable ASCII, no ','. */
function isListToken(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c == 0x2c) return false;
  }
  return true;
}

/** Appends `s` unless already seen; the Set keeps a body with thousands of roles linear. */
function addDistinct(list: Array<string>, seen: Set<string>, s: string): void {
  if (seen.has(s)) return;
  seen.add(s);
  list.push(s);
}

class ClaimReader {
  error: string = "";
  /** Distinct roles from every roles claim read, in order. */
  roles: Array<string> = [];
  private seenRoles: Set<string> = new Set<string>();

  fail(claim: string, what: string): void {
    if (this.error.length == 0) this.error = claim + ": " + what;
  }

  string(body: JsonValue, claim: string): string {
    const v = body.get(claim);
    if (v === null) return "";
    if (v.kind != JsonKind.String) {
      this.fail(claim, "must be a string");
      return "";
    }
    if (hasControl(v.strValue)) {
      this.fail(claim, "contains control characters");
      return "";
    }
    return v.strValue;
  }

  numericDate(body: JsonValue, claim: string): i64 {
    const v = body.get(claim);
    if (v === null) return 0;
    const n = v.numValue;
    if (v.kind != JsonKind.Number || !isFinite(n) || n < 0 || n > MAX_NUMERIC_DATE) {
      this.fail(claim, "must be a NumericDate");
      return 0;
    }
    return <i64>Math.floor(n);
  }

  /** Adds the roles of array `v` (`what` names it); role names unfit for headers are dropped. */
  addRoles(v: JsonValue, what: string): void {
    if (v.kind != JsonKind.Array) {
      this.fail(what, "must be an array of strings");
      return;
    }
    for (let i = 0; i < v.size; i++) {
      const e = v.at(i);
      if (e === null || e.kind != JsonKind.String) {
        this.fail(what, "must be an array of strings");
        return;
      }
      const role = e.strValue;
      if (isListToken(role)) addDistinct(this.roles, this.seenRoles, role);
    }
  }

  /** `body[outer][inner].roles`, or `body[outer].roles` when `inner` is "". */
  nestedRoles(body: JsonValue, outer: string, inner: string): void {
    let v = body.get(outer);
    let path = outer;
    if (v === null) return;
    if (v.kind != JsonKind.Object) {
      this.fail(path, "must be an object");
      return;
    }
    if (inner.length > 0) {
      v = v.get(inner);
      path += "." + inner;
      if (v === null) return;
      if (v.kind != JsonKind.Object) {
        this.fail(path, "must be an object");
        return;
      }
    }
    const roles = v.get("roles");
    if (roles !== null) this.addRoles(roles, path + ".roles");
  }
}

/**
 * Reads an introspection response. `roleClient` is the client whose resource_access roles count
 * (the configured audience); "" for none.
 */
export function parseIntrospection(body: string, roleClient: string): Identity {
  const parsed = parseJson(body, INTROSPECTION_MAX_DEPTH, INTROSPECTION_MAX_LENGTH);
  const root = parsed.value;
  if (root === null) return unreadable("introspection response: " + parsed.error);
  if (root.kind != JsonKind.Object) return unreadable("introspection response: not a JSON object");
  const active = root.get("active");
  if (active === null) return unreadable("active: missing");
  if (active.kind != JsonKind.Bool) return unreadable("active: must be a boolean");
  // RFC 7662 section 2.2: an inactive token's other claims carry no meaning.
  if (!active.boolValue) return new Identity();

  const r = new ClaimReader();
  const id = new Identity();
  id.sub = r.string(root, "sub");
  // Both are read so that either one malformed makes the body malformed, whichever is used.
  const preferred = r.string(root, "preferred_username");
  const username = r.string(root, "username");
  id.username = preferred.length > 0 ? preferred : username;
  id.azp = r.string(root, "azp");
  const clientId = r.string(root, "client_id");
  id.clientId = clientId.length > 0 ? clientId : id.azp;
  id.iss = r.string(root, "iss");
  id.jti = r.string(root, "jti");
  id.exp = r.numericDate(root, "exp");
  id.nbf = r.numericDate(root, "nbf");
  id.iat = r.numericDate(root, "iat");

  const aud = root.get("aud");
  if (aud !== null) {
    if (aud.kind == JsonKind.String) {
      id.aud.push(aud.strValue);
    } else if (aud.kind == JsonKind.Array) {
      for (let i = 0; i < aud.size; i++) {
        const e = aud.at(i);
        if (e === null || e.kind != JsonKind.String) {
          r.fail("aud", "must be a string or an array of strings");
          break;
        }
        id.aud.push(e.strValue);
      }
    } else {
      r.fail("aud", "must be a string or an array of strings");
    }
  }

  const parts = r.string(root, "scope").split(" ");
  const seenScopes = new Set<string>();
  for (let i = 0; i < parts.length; i++) {
    const s = unchecked(parts[i]);
    if (isListToken(s)) addDistinct(id.scopes, seenScopes, s);
  }

  r.nestedRoles(root, "realm_access", "");
  if (roleClient.length > 0) r.nestedRoles(root, "resource_access", roleClient);
  id.roles = r.roles;

  if (r.error.length > 0) return invalid(r.error);
  id.active = true;
  return id;
}

/** The response body as dispatch_http_call delivers it: UTF-8 bytes. */
export function parseIntrospectionBytes(body: ArrayBuffer, roleClient: string): Identity {
  if (body.byteLength > INTROSPECTION_MAX_LENGTH) {
    return unreadable("introspection response: longer than " + INTROSPECTION_MAX_LENGTH.toString() + " bytes");
  }
  const text = decodeUtf8(body);
  if (!text.ok) return unreadable("introspection response: " + text.error);
  return parseIntrospection(text.text, roleClient);
}

/**
 * Whether `id` may be used at `nowS` (seconds since the epoch). `issuer` and `audience` are the
 * configured expectations, "" when not checked. Returns "" when valid, otherwise the reason, naming
 * the claim (never a claim's value: reasons reach logs and error_description).
 */
export function validateIdentity(id: Identity, nowS: i64, issuer: string, audience: string): string {
  if (id.error.length > 0) return id.error;
  if (!id.active) return "active: token is not active";
  if (id.sub.length == 0) return "sub: missing";
  if (id.exp == 0) return "exp: missing";
  if (id.exp <= nowS) return "exp: token has expired";
  if (id.nbf > nowS + CLOCK_SKEW_S) return "nbf: token is not valid yet";
  if (issuer.length > 0 && id.iss != issuer) return "iss: not the configured issuer";
  if (audience.length > 0 && !id.aud.includes(audience) && id.azp != audience) {
    return "aud: the configured audience is neither in aud nor azp";
  }
  return "";
}

/**
 * application/x-www-form-urlencoded serialization of one value (WHATWG URL, as URLSearchParams
 * does it): UTF-8, with every byte but ALPHA / DIGIT / "*-._" percent-encoded and space as '+'.
 */
export function formUrlEncode(s: string): string {
  const bytes = encodeUtf8(s);
  const hex = "0123456789ABCDEF";
  const out = new Array<i32>();
  for (let i = 0; i < bytes.length; i++) {
    const b = <i32>bytes[i];
    const keep = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) ||
      b == 0x2a || b == 0x2d || b == 0x2e || b == 0x5f;
    if (keep) {
      out.push(b);
    } else if (b == 0x20) {
      out.push(0x2b);
    } else {
      out.push(0x25);
      out.push(hex.charCodeAt(b >> 4));
      out.push(hex.charCodeAt(b & 15));
    }
  }
  return String.fromCharCodes(out);
}

/** The RFC 7662 section 2.1 request body for an access token. */
export function introspectionRequestBody(token: string): string {
  return "token=" + formUrlEncode(token) + "&token_type_hint=access_token";
}

/**
 * The Authorization header value for client credentials (RFC 6749 section 2.3.1): id and secret are
 * each form-urlencoded before they are joined with ':' and base64-encoded, so a ':' in the id
 * cannot shift the split.
 */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  return "Basic " + base64Encode(encodeUtf8(formUrlEncode(clientId) + ":" + formUrlEncode(clientSecret)));
}
