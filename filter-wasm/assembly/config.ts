// The plugin configuration: parsed and validated once, in proxy_on_configure. An invalid one makes
// the plugin fail to start (fail closed), so every error names the field path that is wrong.
//
// filter-wasm/config.schema.json states the same rules for the server, the tests and the mesh
// manifests; filter-wasm/test/config.test.ts checks that both judge sample and mutated
// configurations alike. Change them together.
//
// Every string is limited to printable ASCII: the values end up in header values, paths and
// comparisons with issuer claims, where non-ASCII text only adds ways to spell one thing twice.
// Unknown fields are errors at every level, so a misspelt optional field cannot silently fall back
// to its default.

import { JsonKind, JsonValue, parseJson } from "./json";
import { Rule } from "./rules";
import { decodeUtf8 } from "./utf8";

/** Configurations longer than this (in UTF-16 code units, or bytes for parseConfigBytes) are refused. */
export const CONFIG_MAX_LENGTH: i32 = 1 << 20;
// A valid configuration nests four levels deep (rules[i].any_role[j]); the margin keeps errors about
// deeper values in unknown fields ("unknown field") rather than in the parser.
const CONFIG_MAX_DEPTH: i32 = 16;

export class KeycloakIssuer {
  cluster: string = "";
  authority: string = "";
  introspectionPath: string = "";
  clientId: string = "";
  clientSecret: string = "";
  timeoutMs: i32 = 1500;
  /** Expected `iss` of introspected tokens; "" when not checked. */
  issuer: string = "";
  /**
   * Required in `aud` (or equal to `azp`); "" when not checked. It also names the client whose
   * resource_access roles count as roles (see introspection.ts).
   */
  audience: string = "";
}

export class ApiTokenIssuer {
  cluster: string = "";
  authority: string = "";
  introspectionPath: string = "";
  /** Bearer tokens starting with this go to the token service rather than Keycloak. */
  tokenPrefix: string = "agt_";
  /** Client credentials for the introspection call; both "" when the token service needs none. */
  clientId: string = "";
  clientSecret: string = "";
  timeoutMs: i32 = 1500;
}

export class RevocationFeed {
  cluster: string = "";
  authority: string = "";
  path: string = "";
  pollMs: i32 = 1000;
  timeoutMs: i32 = 1000;
}

export class CacheConfig {
  positiveTtlS: i32 = 60;
  negativeTtlS: i32 = 5;
  maxEntries: i32 = 10000;
}

export class IdentityConfig {
  headerPrefix: string = "x-altgate-";
  stripAuthorization: bool = true;
  /** Key for x-altgate-signature (its UTF-8 bytes); "" when headers are not signed. */
  hmacKey: string = "";
}

export class Config {
  keycloak: KeycloakIssuer | null = null;
  apiTokens: ApiTokenIssuer | null = null;
  /** null when no revocation feed is polled. */
  revocations: RevocationFeed | null = null;
  cache: CacheConfig = new CacheConfig();
  /** In configuration order: the first rule that matches a request decides. */
  rules: Array<Rule> = [];
  identity: IdentityConfig = new IdentityConfig();
  /** What a request that matches no rule gets (`default_action`): deny unless "allow". */
  defaultAllow: bool = false;
}

export class ConfigResult {
  constructor(
    readonly ok: bool,
    /** "field.path: what is wrong"; "" when ok. */
    readonly error: string,
    readonly config: Config | null,
  ) {}
}

// The character classes of string fields; each has the same pattern in config.schema.json.
enum Chars {
  /** ^[!-~]+$ : printable ASCII without spaces. */
  Visible,
  /** ^[!-+\--~]+$ : Visible without ',' (role and scope lists travel comma-separated in headers). */
  Role,
  /** ^/[!"$->@-~]*$ : a path without query or fragment. */
  Path,
  /** ^[a-z][a-z0-9-]*$ */
  HeaderPrefix,
  /** ^[A-Za-z0-9_-]+$ */
  TokenPrefix,
  /** ^[A-Z]+$ */
  Method,
}

function charOk(cls: Chars, c: i32, first: bool): bool {
  const visible = c >= 0x21 && c <= 0x7e;
  const lower = c >= 0x61 && c <= 0x7a;
  const upper = c >= 0x41 && c <= 0x5a;
  const digit = c >= 0x30 && c <= 0x39;
  switch (cls) {
    case Chars.Visible: return visible;
    case Chars.Role: return visible && c != 0x2c;
    case Chars.Path: return first ? c == 0x2f : visible && c != 0x3f && c != 0x23;
    case Chars.HeaderPrefix: return first ? lower : lower || digit || c == 0x2d;
    case Chars.TokenPrefix: return upper || lower || digit || c == 0x5f || c == 0x2d;
    case Chars.Method: return upper;
  }
  return false;
}

function describe(cls: Chars): string {
  switch (cls) {
    case Chars.Visible: return "printable ASCII without spaces";
    case Chars.Role: return "printable ASCII without spaces or commas";
    case Chars.Path: return "a path starting with '/', printable ASCII without spaces, '?' or '#'";
    case Chars.HeaderPrefix: return "lower-case letters, digits and '-', starting with a letter";
    case Chars.TokenPrefix: return "letters, digits, '_' and '-'";
    case Chars.Method: return "upper-case letters";
  }
  return "";
}

function matches(s: string, cls: Chars): bool {
  for (let i = 0; i < s.length; i++) {
    if (!charOk(cls, s.charCodeAt(i), i == 0)) return false;
  }
  return true;
}

function field(path: string, key: string): string {
  return path.length == 0 ? key : path + "." + key;
}

/** An unknown member name as it may appear in a log line: printable ASCII, at most 64 characters. */
function printable(key: string): string {
  const units = new Array<i32>();
  for (let i = 0; i < key.length && i < 64; i++) {
    const c = key.charCodeAt(i);
    units.push(c >= 0x20 && c <= 0x7e ? c : 0x3f);
  }
  return String.fromCharCodes(units) + (key.length > 64 ? "..." : "");
}

function item(path: string, i: i32): string {
  return path + "[" + i.toString() + "]";
}

/** Collects the first error; every reader returns a harmless value once one is recorded. */
class Reader {
  error: string = "";

  fail(path: string, what: string): void {
    if (this.error.length == 0) this.error = path + ": " + what;
  }

  get failed(): bool {
    return this.error.length > 0;
  }

  /** `v` as an object whose member names are all in `allowed`; null (with an error) otherwise. */
  object(v: JsonValue, path: string, allowed: Array<string>): JsonValue | null {
    if (v.kind != JsonKind.Object) {
      this.fail(path.length == 0 ? "configuration" : path, "must be an object");
      return null;
    }
    for (let i = 0; i < v.size; i++) {
      const key = v.keyAt(i);
      if (!allowed.includes(key)) {
        this.fail(field(path, printable(key)), "unknown field");
        return null;
      }
    }
    return v;
  }

  checkString(v: JsonValue, path: string, cls: Chars, minLen: i32, maxLen: i32): string {
    const s = v.strValue;
    if (v.kind != JsonKind.String || s.length < minLen || s.length > maxLen || !matches(s, cls)) {
      this.fail(path, "must be a string of " + minLen.toString() + " to " + maxLen.toString() + " characters: " + describe(cls));
      return "";
    }
    return s;
  }

  string(obj: JsonValue, key: string, path: string, required: bool, fallback: string, cls: Chars, minLen: i32, maxLen: i32): string {
    const v = obj.get(key);
    if (v === null) {
      if (required) this.fail(field(path, key), "is required");
      return fallback;
    }
    return this.checkString(v, field(path, key), cls, minLen, maxLen);
  }

  integer(obj: JsonValue, key: string, path: string, fallback: i32, min: i32, max: i32): i32 {
    const v = obj.get(key);
    if (v === null) return fallback;
    if (!v.isInteger() || v.numValue < <f64>min || v.numValue > <f64>max) {
      this.fail(field(path, key), "must be an integer between " + min.toString() + " and " + max.toString());
      return fallback;
    }
    return <i32>v.numValue;
  }

  boolean(obj: JsonValue, key: string, path: string, fallback: bool): bool {
    const v = obj.get(key);
    if (v === null) return fallback;
    if (v.kind != JsonKind.Bool) {
      this.fail(field(path, key), "must be a boolean");
      return fallback;
    }
    return v.boolValue;
  }

  /** One of `choices`, the first being the default. */
  choice(obj: JsonValue, key: string, path: string, choices: Array<string>): string {
    const v = obj.get(key);
    if (v === null) return choices[0];
    if (v.kind != JsonKind.String || !choices.includes(v.strValue)) {
      this.fail(field(path, key), "must be one of \"" + choices.join("\", \"") + "\"");
      return choices[0];
    }
    return v.strValue;
  }

  /** A non-empty array of distinct strings; empty when absent. */
  strings(obj: JsonValue, key: string, path: string, cls: Chars, maxItems: i32, maxLen: i32): Array<string> {
    const out = new Array<string>();
    const v = obj.get(key);
    if (v === null) return out;
    const p = field(path, key);
    if (v.kind != JsonKind.Array || v.size < 1 || v.size > maxItems) {
      this.fail(p, "must be an array of 1 to " + maxItems.toString() + " strings");
      return out;
    }
    for (let i = 0; i < v.size; i++) {
      const e = v.at(i);
      if (e === null) break;
      const s = this.checkString(e, item(p, i), cls, 1, maxLen);
      if (this.failed) return out;
      if (out.includes(s)) {
        this.fail(item(p, i), "duplicate entry");
        return out;
      }
      out.push(s);
    }
    return out;
  }
}

const MAX_NAME: i32 = 256;
const MAX_PATH: i32 = 1024;
const MAX_TIMEOUT_MS: i32 = 60000;

function readKeycloak(r: Reader, v: JsonValue, path: string): KeycloakIssuer | null {
  const o = r.object(v, path, ["cluster", "authority", "introspection_path", "client_id", "client_secret", "timeout_ms", "issuer", "audience"]);
  if (o === null) return null;
  const k = new KeycloakIssuer();
  k.cluster = r.string(o, "cluster", path, true, "", Chars.Visible, 1, MAX_NAME);
  k.authority = r.string(o, "authority", path, true, "", Chars.Visible, 1, MAX_NAME);
  k.introspectionPath = r.string(o, "introspection_path", path, true, "", Chars.Path, 1, MAX_PATH);
  k.clientId = r.string(o, "client_id", path, true, "", Chars.Visible, 1, MAX_NAME);
  k.clientSecret = r.string(o, "client_secret", path, true, "", Chars.Visible, 1, MAX_PATH);
  k.timeoutMs = r.integer(o, "timeout_ms", path, k.timeoutMs, 1, MAX_TIMEOUT_MS);
  k.issuer = r.string(o, "issuer", path, false, "", Chars.Visible, 1, MAX_PATH);
  k.audience = r.string(o, "audience", path, false, "", Chars.Visible, 1, MAX_NAME);
  return k;
}

function readApiTokens(r: Reader, v: JsonValue, path: string): ApiTokenIssuer | null {
  const o = r.object(v, path, ["cluster", "authority", "introspection_path", "token_prefix", "client_id", "client_secret", "timeout_ms"]);
  if (o === null) return null;
  const a = new ApiTokenIssuer();
  a.cluster = r.string(o, "cluster", path, true, "", Chars.Visible, 1, MAX_NAME);
  a.authority = r.string(o, "authority", path, true, "", Chars.Visible, 1, MAX_NAME);
  a.introspectionPath = r.string(o, "introspection_path", path, true, "", Chars.Path, 1, MAX_PATH);
  a.tokenPrefix = r.string(o, "token_prefix", path, false, a.tokenPrefix, Chars.TokenPrefix, 1, 32);
  const hasId = o.get("client_id") !== null;
  const hasSecret = o.get("client_secret") !== null;
  a.clientId = r.string(o, "client_id", path, hasSecret, "", Chars.Visible, 1, MAX_NAME);
  a.clientSecret = r.string(o, "client_secret", path, hasId, "", Chars.Visible, 1, MAX_PATH);
  a.timeoutMs = r.integer(o, "timeout_ms", path, a.timeoutMs, 1, MAX_TIMEOUT_MS);
  return a;
}

function readRevocations(r: Reader, v: JsonValue): RevocationFeed | null {
  const path = "revocations";
  const o = r.object(v, path, ["cluster", "authority", "path", "poll_ms", "timeout_ms"]);
  if (o === null) return null;
  const f = new RevocationFeed();
  f.cluster = r.string(o, "cluster", path, true, "", Chars.Visible, 1, MAX_NAME);
  f.authority = r.string(o, "authority", path, true, "", Chars.Visible, 1, MAX_NAME);
  f.path = r.string(o, "path", path, true, "", Chars.Path, 1, MAX_PATH);
  f.pollMs = r.integer(o, "poll_ms", path, f.pollMs, 100, MAX_TIMEOUT_MS);
  f.timeoutMs = r.integer(o, "timeout_ms", path, f.timeoutMs, 1, MAX_TIMEOUT_MS);
  return f;
}

function readCache(r: Reader, v: JsonValue, c: CacheConfig): void {
  const path = "cache";
  const o = r.object(v, path, ["positive_ttl_s", "negative_ttl_s", "max_entries"]);
  if (o === null) return;
  c.positiveTtlS = r.integer(o, "positive_ttl_s", path, c.positiveTtlS, 0, 86400);
  c.negativeTtlS = r.integer(o, "negative_ttl_s", path, c.negativeTtlS, 0, 3600);
  c.maxEntries = r.integer(o, "max_entries", path, c.maxEntries, 1, 1000000);
}

function readIdentity(r: Reader, v: JsonValue, id: IdentityConfig): void {
  const path = "identity";
  const o = r.object(v, path, ["header_prefix", "strip_authorization", "hmac_key"]);
  if (o === null) return;
  id.headerPrefix = r.string(o, "header_prefix", path, false, id.headerPrefix, Chars.HeaderPrefix, 1, 64);
  id.stripAuthorization = r.boolean(o, "strip_authorization", path, id.stripAuthorization);
  // 32 characters: HMAC-SHA256 keys shorter than the hash output weaken it (RFC 2104 section 3).
  id.hmacKey = r.string(o, "hmac_key", path, false, "", Chars.Visible, 32, MAX_PATH);
}

function readRule(r: Reader, v: JsonValue, path: string): Rule | null {
  const o = r.object(v, path, ["prefix", "exact", "methods", "public", "any_role", "all_roles", "scopes"]);
  if (o === null) return null;
  const rule = new Rule();
  const hasPrefix = o.get("prefix") !== null;
  const hasExact = o.get("exact") !== null;
  if (hasPrefix == hasExact) {
    r.fail(path, "exactly one of prefix or exact is required");
    return null;
  }
  if (hasExact) rule.exact = r.string(o, "exact", path, true, "", Chars.Path, 1, MAX_PATH);
  else rule.prefix = r.string(o, "prefix", path, true, "", Chars.Path, 1, MAX_PATH);
  rule.methods = r.strings(o, "methods", path, Chars.Method, 16, 32);
  rule.isPublic = r.boolean(o, "public", path, false);
  rule.anyRole = r.strings(o, "any_role", path, Chars.Role, 64, MAX_NAME);
  rule.allRoles = r.strings(o, "all_roles", path, Chars.Role, 64, MAX_NAME);
  rule.scopes = r.strings(o, "scopes", path, Chars.Role, 64, MAX_NAME);
  if (!r.failed && rule.isPublic && (rule.anyRole.length > 0 || rule.allRoles.length > 0 || rule.scopes.length > 0)) {
    r.fail(path, "a public rule cannot require roles or scopes");
  }
  return rule;
}

const MAX_RULES: i32 = 1000;

function readConfig(r: Reader, root: JsonValue): Config {
  const c = new Config();
  const o = r.object(root, "", ["issuers", "revocations", "cache", "rules", "identity", "on_issuer_failure", "default_action"]);
  if (o === null) return c;

  const issuers = o.get("issuers");
  if (issuers === null) {
    r.fail("issuers", "is required");
    return c;
  }
  const io = r.object(issuers, "issuers", ["keycloak", "api_tokens"]);
  if (io === null) return c;
  const kc = io.get("keycloak");
  if (kc !== null) c.keycloak = readKeycloak(r, kc, "issuers.keycloak");
  const at = io.get("api_tokens");
  if (at !== null) c.apiTokens = readApiTokens(r, at, "issuers.api_tokens");
  if (kc === null && at === null) r.fail("issuers", "at least one of keycloak or api_tokens is required");

  const rev = o.get("revocations");
  if (rev !== null) c.revocations = readRevocations(r, rev);
  const cache = o.get("cache");
  if (cache !== null) readCache(r, cache, c.cache);
  const identity = o.get("identity");
  if (identity !== null) readIdentity(r, identity, c.identity);

  const rules = o.get("rules");
  if (rules !== null) {
    if (rules.kind != JsonKind.Array || rules.size > MAX_RULES) {
      r.fail("rules", "must be an array of at most " + MAX_RULES.toString() + " rules");
    } else {
      for (let i = 0; i < rules.size && !r.failed; i++) {
        const v = rules.at(i);
        if (v === null) break;
        const rule = readRule(r, v, item("rules", i));
        if (rule !== null) c.rules.push(rule);
      }
    }
  }

  // "deny" is the only choice: an issuer that cannot be reached must never turn into an allow.
  r.choice(o, "on_issuer_failure", "", ["deny"]);
  c.defaultAllow = r.choice(o, "default_action", "", ["deny", "allow"]) == "allow";
  return c;
}

export function parseConfig(json: string): ConfigResult {
  const parsed = parseJson(json, CONFIG_MAX_DEPTH, CONFIG_MAX_LENGTH);
  const root = parsed.value;
  if (root === null) return new ConfigResult(false, "configuration: " + parsed.error, null);
  const r = new Reader();
  const config = readConfig(r, root);
  if (r.failed) return new ConfigResult(false, r.error, null);
  return new ConfigResult(true, "", config);
}

/** The configuration as proxy_on_configure receives it: UTF-8 bytes. */
export function parseConfigBytes(buf: ArrayBuffer): ConfigResult {
  if (buf.byteLength > CONFIG_MAX_LENGTH) {
    return new ConfigResult(false, "configuration: longer than " + CONFIG_MAX_LENGTH.toString() + " bytes", null);
  }
  const text = decodeUtf8(buf);
  if (!text.ok) return new ConfigResult(false, "configuration: " + text.error, null);
  return parseConfig(text.text);
}
