// Issue must-show 7: random and malformed header sets, introspection answers and revocation feed
// answers through the whole filter in the test host. Whatever arrives, the VM never traps, no
// request stays paused for good, every denial keeps the error contract, no token leaks, and a
// request continues upstream only if (a) the upstream would route it to a public rule, or (b) the
// issuer really answered `"active": true` for its bearer token, with a subject and an exp still
// ahead, and the roles in that answer satisfy the rule the upstream would route it to, and no
// well-formed feed answer delivered before the request lists its token with an exp still ahead.
// Now and then the proxy refuses a header call, which may only ever turn into a refusal.
//
// The oracle is written from the contracts, not from the filter's code: bearer syntax from RFC 6750,
// validity from RFC 7662 plus the documented claim checks, and routing from what the upstream sees
// (WHATWG URL resolution and decodeURI, as @hono/node-server and Hono do). It is deliberately more
// lenient than the filter (no type checks on claims it does not need), so it can only miss a
// wrongful denial, never excuse a wrongful allow.
//
// Replay: the seed and request number of the first problems are in the failure message; set
// FUZZ_SEED to rerun one seed, FUZZ_REQUESTS to change the size and FUZZ_EPOCH the
// number of requests each proxy serves.
import { describe, expect, it } from "vitest";
import type { HeaderPair, HttpCall, HttpStream, Worker } from "../host/index.ts";
import { Proxy } from "../host/index.ts";
import {
  apiTokenKey, filterModule, HMAC_KEY, isFeedPoll, KEYCLOAK_CLUSTER, REVOCATION_PATH, SKETCH_RULES, TOKEN_SERVICE_CLUSTER, filterConfig,
  verifyIdentity, type Rule,
} from "./filter-helpers.ts";
import { mutateText, quoteJson, randomJsonText, randomString } from "./json-oracle.ts";
import { rng } from "./wasm-values.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20260126);
const MIN_REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 100_000);
const MIN_ANSWERS = MIN_REQUESTS;
/** A fresh proxy (fresh VMs, fresh shared data) every this many requests. */
const EPOCH = Number(process.env.FUZZ_EPOCH ?? 10_000);

const ISSUER = "http://keycloak:8080/realms/altgate";
const AUDIENCE = "altgate-gateway";
const PREFIX = "x-altgate-";
const IDENTITY_NAMES = ["subject", "username", "client", "roles", "scopes", "token-kind", "token-id", "signature"].map((n) => PREFIX + n);
/** Every token the fuzz makes contains this, so one search finds any of them in logs or data. */
const MARK = "FZtok";

const RULES: Rule[] = [...SKETCH_RULES, { prefix: "/admin", all_roles: ["admin", "auditor"], scopes: ["admin:write"] }, { exact: "/v1/whoami" }];

interface Variant {
  name: string;
  config: Record<string, unknown>;
  defaultAllow: boolean;
  positiveTtlS: number;
  /** Checked for Keycloak tokens only; "" when the configuration does not set it. */
  issuer: string;
  audience: string;
  signed: boolean;
}

function variants(): Variant[] {
  const revocations = { pollMs: 100 };
  const strict = filterConfig({ apiTokens: true, revocations, hmacKey: HMAC_KEY, maxEntries: 64, rules: RULES });
  const kc = (strict.issuers as { keycloak: Record<string, unknown> }).keycloak;
  kc.issuer = ISSUER;
  kc.audience = AUDIENCE;
  return [
    { name: "strict", config: strict, defaultAllow: false, positiveTtlS: 60, issuer: ISSUER, audience: AUDIENCE, signed: true },
    {
      name: "open",
      config: filterConfig({ apiTokens: true, revocations, defaultAction: "allow", positiveTtlS: 2, negativeTtlS: 0, maxEntries: 20000, rules: RULES }),
      defaultAllow: true,
      positiveTtlS: 2,
      issuer: "",
      audience: "",
      signed: false,
    },
  ];
}

// ---- what the oracle believes ------------------------------------------------------------------

/** RFC 6750 section 2.1 on the request's Authorization headers: the one token, or undefined. */
function bearerOf(headers: readonly HeaderPair[]): string | undefined {
  const values = headers.filter(([k]) => k.toLowerCase() === "authorization").map(([, v]) => v);
  if (values.length !== 1) return undefined;
  const m = /^[ \t]*[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)[ \t]*$/.exec(values[0]!);
  return m && m[1]!.length <= 8192 ? m[1] : undefined;
}

/** The path the upstream routes on: @hono/node-server builds a WHATWG URL, Hono decodeURI()s it. */
function upstreamPath(raw: string | undefined): string | undefined {
  if (raw === undefined || !raw.startsWith("/")) return undefined;
  let url: URL;
  try {
    url = new URL(`http://upstream.test${raw}`);
  } catch {
    return undefined;
  }
  if (url.host !== "upstream.test") return undefined;
  try {
    return decodeURI(url.pathname);
  } catch {
    return url.pathname;
  }
}

function ruleFor(method: string, path: string): Rule | undefined {
  const m = method.toUpperCase();
  return RULES.find((r) => {
    const methods = r.methods ?? [];
    const methodOk = methods.length === 0 || methods.includes(m) || (m === "HEAD" && methods.includes("GET"));
    if (!methodOk) return false;
    const trim = (s: string) => (s.length > 1 && s.endsWith("/") ? s.slice(0, -1) : s);
    if (r.exact !== undefined) return trim(r.exact) === trim(path);
    const p = r.prefix!;
    return path === p || (path.startsWith(p) && (p.endsWith("/") || path[p.length] === "/"));
  });
}

interface Answer {
  at: number;
  sub: string;
  roles: Set<string>;
  scopes: Set<string>;
  /** The last millisecond the filter may still use this answer (exp or the positive TTL). */
  usableUntil: number;
  kind: "oidc" | "api-token";
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** application/x-www-form-urlencoded, as URLSearchParams writes it. */
function formEncode(s: string): string {
  return new URLSearchParams({ t: s }).toString().slice(2);
}

/** Whether an answer makes the token active, per RFC 7662 and the documented claim checks. */
function judge(v: Variant, token: string, status: number | undefined, body: Uint8Array, nowMs: number): Answer | undefined {
  if (status !== 200) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(strictUtf8.decode(body));
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return undefined;
  const c = doc as Record<string, unknown>;
  const nowS = Math.floor(nowMs / 1000);
  if (c.active !== true || typeof c.sub !== "string" || c.sub === "") return undefined;
  if (typeof c.exp !== "number" || !Number.isFinite(c.exp) || c.exp < 0 || Math.floor(c.exp) <= nowS) return undefined;
  if (typeof c.nbf === "number" && Math.floor(c.nbf) > nowS + 30) return undefined;
  const kind = token.startsWith("agt_") ? "api-token" : "oidc";
  const audience = kind === "oidc" ? v.audience : "";
  if (kind === "oidc" && v.issuer !== "" && c.iss !== v.issuer) return undefined;
  if (audience !== "") {
    const aud = c.aud;
    if (!(aud === audience || (Array.isArray(aud) && aud.includes(audience)) || c.azp === audience)) return undefined;
  }
  const rolesOf = (o: unknown): string[] => {
    const roles = o !== null && typeof o === "object" ? (o as { roles?: unknown }).roles : undefined;
    return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === "string") : [];
  };
  const resource = c.resource_access !== null && typeof c.resource_access === "object" ? (c.resource_access as Record<string, unknown>) : {};
  const roles = new Set([...rolesOf(c.realm_access), ...(audience ? rolesOf(Object.hasOwn(resource, audience) ? resource[audience] : undefined) : [])]);
  const scopes = new Set(typeof c.scope === "string" ? c.scope.split(" ") : []);
  const usableUntil = Math.min(Math.floor(c.exp) * 1000, nowMs + v.positiveTtlS * 1000) - 1;
  return { at: nowMs, sub: c.sub, roles, scopes, usableUntil, kind };
}

function satisfies(rule: Rule, a: Answer): boolean {
  if (rule.any_role && !rule.any_role.some((r) => a.roles.has(r))) return false;
  if (rule.all_roles && !rule.all_roles.every((r) => a.roles.has(r))) return false;
  if (rule.scopes && !rule.scopes.every((s) => a.scopes.has(s))) return false;
  return true;
}

// ---- generators ----------------------------------------------------------------------------------

type Rand = () => number;

class Gen {
  readonly int: (n: number) => number;
  readonly chance: (p: number) => boolean;
  constructor(readonly next: Rand) {
    this.int = (n) => Math.floor(next() * n);
    this.chance = (p) => next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  b64(n: number): string {
    const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
    let s = "";
    for (let i = 0; i < n; i++) s += chars[this.int(chars.length)];
    return s;
  }

  /** Characters a header value can carry in the host: any byte as a Latin-1 character, some Unicode. */
  bytes(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) {
      const r = this.next();
      s += r < 0.7 ? String.fromCharCode(0x20 + this.int(0x5f)) : r < 0.9 ? String.fromCharCode(this.int(256)) : this.pick(["é", "日", "😀", "\u2028", "\ufffd", "\ud800"]);
    }
    return s;
  }

  randomCase(s: string): string {
    return [...s].map((c) => (this.chance(0.3) ? c.toUpperCase() : c)).join("");
  }
}

// Host calls a proxy may refuse (Envoy does once a stream's headers are gone). Now and then one of
// them fails for a whole step: the filter must then refuse, never continue half-done or unchecked.
const HEADER_CALLS = ["proxy_get_header_map_pairs", "proxy_remove_header_map_value", "proxy_replace_header_map_value"];
// Only while a request arrives may shared data fail as well (its cache read, its revoked-set shard):
// a feed answer whose merge the host refused is applied at a later poll, which the oracle's order of
// revocations (by feed answers delivered) does not model.
const REQUEST_CALLS = [...HEADER_CALLS, "proxy_get_shared_data"];

function withFailingHostCall<T>(g: Gen, proxy: Proxy, calls: readonly string[], step: () => T): T {
  if (!g.chance(0.01)) return step();
  proxy.failingHostCalls.add(g.pick(calls));
  try {
    return step();
  } finally {
    proxy.failingHostCalls.clear();
  }
}

const METHODS = ["GET", "GET", "GET", "GET", "POST", "POST", "HEAD", "DELETE", "PUT", "PATCH", "OPTIONS", "get", "pOST", "", "GET ", "G\u00e9T", "CONNECT"];
const PATHS = [
  "/healthz", "/healthz/", "/healthz/live", "/healthzz", "/Healthz", "/v1/models", "/v1/models/", "/v1/models/iris",
  "/v1/models/iris/infer", "/v1/modelsx", "/v1/tokens", "/v1/tokens/t1", "/v1/Tokens", "/admin", "/admin/x", "/v2/other",
  "/", "/v1", "/v1/whoami", "/v1/whoami/", "/v1/whoami/x",
];
const PROTECTED_PATHS = ["/v1/models", "/v1/models/iris", "/v1/models/iris/infer", "/v1/tokens", "/v1/tokens/t1", "/admin/x", "/v1/whoami", "/v2/other"];
const PATH_NOISE = [
  "/..", "/.", "%2e", "%2E%2E", "%2F", "%2f", "%5C", "%00", "%25", "%zz", "%", "%4", "%3B", "%3f", "%68", "%74", "%C3%A9", "//", ";", "\\",
  " ", "\t", "\u00e9", "@", ":", "~", "?", "#", "?x=/../v1/tokens", "#/../admin", "*", "\u0000", "%u002e",
];
/** jti values the feed answers revoke now and then. */
const JTIS = Array.from({ length: 8 }, (_, i) => `jti-pool-${i}`);
const ROLES = ["model:read", "model:invoke", "token:manage", "admin", "auditor", "offline_access", "has space", "a,b", "", "MODEL:READ"];
const SCOPES = ["openid", "profile", "email", "admin:write", "model:read"];
const SUBS = ["user-1", "5f0c2a4e-1b7d-4c55-9e0f-a11ce0000001", "Zoë", "a b", "x\r\nx-altgate-roles: admin", "", "x".repeat(5000), "日本"];
const IDENTITY_SUFFIXES = ["subject", "roles", "username", "signature", "token-kind", "client", "scopes", "token-id", "", "x", "SUBJECT", "\u00e9"];
const OTHER_NAMES = ["x-request-id", "content-type", "accept", "user-agent", "x-forwarded-for", "cookie", "x-altgate", "x-altgat-subject", "xx-altgate-subject", "altgate-subject", "proxy-authorization", "authorization2"];

function mutatePath(g: Gen, p: string): string {
  const edits = g.int(4);
  for (let e = 0; e < edits; e++) {
    const at = g.int(p.length + 1);
    const r = g.next();
    if (r < 0.55) p = p.slice(0, at) + g.pick(PATH_NOISE) + p.slice(at);
    else if (r < 0.7) p = p.slice(0, at) + "%" + p.charCodeAt(at).toString(16).padStart(2, "0")[g.chance(0.5) ? "toUpperCase" : "toLowerCase"]() + p.slice(at + 1);
    else if (r < 0.8) p = p.slice(0, at) + p.slice(at + 1);
    else if (r < 0.9) p = p.slice(0, at) + p.charAt(at).toUpperCase() + p.slice(at + 1);
    else if (r < 0.95) p = "http://api.test" + p;
    else p = g.bytes(g.int(12));
  }
  return p;
}

function authorizationValue(g: Gen, tok: string): string {
  const r = g.next();
  if (r < 0.75) return `Bearer ${tok}`;
  return g.pick([
    () => `bearer ${tok}`,
    () => `BEARER   ${tok}`,
    () => ` \tBearer ${tok} `,
    () => `Bearer\t${tok}`,
    () => `Bearer ${tok}=`,
    () => `Bearer ${tok}==x`,
    () => `Bearer ${tok.slice(0, g.int(tok.length))}`,
    () => `Bearer ${tok} ${tok}`,
    () => `Bearer ${tok},`,
    () => `Bearer "${tok}"`,
    () => `Bearer ${tok}\u00e9`,
    () => `Bearer ${tok}\u0000`,
    () => `Basic ${Buffer.from(`u:${tok}`).toString("base64")}`,
    () => "Bearer",
    () => "Bearer ",
    () => `Token ${tok}`,
    () => `Bearer ${g.bytes(g.int(30))}`,
    () => `Bearer ${"a".repeat(8190 + g.int(4))}`,
    () => g.bytes(g.int(40)),
  ])();
}

interface Pools {
  /** A handful in use all the time, so that requests with one token overlap (cache, coalescing). */
  hot: string[];
  tokens: string[];
  apiTokens: string[];
}

function newToken(g: Gen, api: boolean): string {
  return `${api ? "agt_" : ""}${MARK}${g.b64(16 + g.int(24))}`;
}

function chooseToken(g: Gen, pools: Pools): string {
  const r = g.next();
  if (r < 0.12) return g.pick(pools.hot);
  if (r < 0.2) return g.pick(pools.tokens);
  if (r < 0.24) return g.pick(pools.apiTokens);
  return newToken(g, r < 0.35);
}

/**
 * Two in five header sets are hostile throughout; the others carry one well-formed bearer token
 * (mostly a new one) to a protected route, with the same forged and random headers, so that most
 * of them reach the issuer and the introspection answers get fuzzed about as often as the headers.
 */
function requestHeaders(g: Gen, pools: Pools, burstToken?: string): HeaderPair[] {
  const headers: HeaderPair[] = [];
  const extras: HeaderPair[] = [];
  if (burstToken !== undefined || g.chance(0.6)) {
    headers.push([":method", g.pick(["GET", "GET", "POST", "HEAD", "DELETE"])], [":path", g.pick(PROTECTED_PATHS)]);
    extras.push(["authorization", `Bearer ${burstToken ?? (g.chance(0.85) ? newToken(g, g.chance(0.15)) : chooseToken(g, pools))}`]);
  } else {
    if (g.chance(0.97)) headers.push([":method", g.pick(METHODS)]);
    if (g.chance(0.97)) headers.push([":path", g.chance(0.75) ? g.pick(PATHS) : mutatePath(g, g.pick(PATHS))]);
    const auths = g.chance(0.08) ? 0 : g.chance(0.95) ? 1 : 2 + g.int(2);
    for (let i = 0; i < auths; i++) {
      extras.push([g.pick(["authorization", "Authorization", "AUTHORIZATION", "authorizatioN"]), authorizationValue(g, chooseToken(g, pools))]);
    }
  }
  headers.push([":authority", "api.test"], [":scheme", "https"]);
  if (g.chance(0.3)) {
    for (let i = 0, n = 1 + g.int(3); i < n; i++) {
      extras.push([g.randomCase(PREFIX + g.pick(IDENTITY_SUFFIXES)), g.chance(0.5) ? g.pick(["admin", "token:manage,model:invoke", "t=1,v1=00", "api-token"]) : g.bytes(g.int(20))]);
    }
  }
  for (let i = 0, n = g.int(5); i < n; i++) {
    const name = g.chance(0.5) ? g.pick(OTHER_NAMES) : g.chance(0.8) ? g.randomCase(g.b64(1 + g.int(15)).replace(/[+/~.]/g, "-")) : g.bytes(1 + g.int(10)).replace(/[\ud800-\udfff]/g, "x");
    extras.push([name, g.bytes(g.int(60))]);
  }
  // Shuffled: the filter must not depend on where Authorization or the forged headers sit.
  for (let i = extras.length - 1; i > 0; i--) {
    const j = g.int(i + 1);
    [extras[i], extras[j]] = [extras[j]!, extras[i]!];
  }
  return [...headers, ...extras];
}

/** A Keycloak-like set of claims, right or wrong in the ways real ones differ. */
function claims(g: Gen, nowMs: number): Record<string, unknown> {
  const nowS = Math.floor(nowMs / 1000);
  const c: Record<string, unknown> = {
    active: true,
    sub: g.pick(SUBS.slice(0, g.chance(0.9) ? 3 : SUBS.length)),
    exp: nowS + g.int(700) - 100,
    iat: nowS - g.int(100),
    jti: g.chance(0.3) ? g.pick(JTIS) : g.chance(0.9) ? `jti-${g.int(1e6)}` : g.bytes(10),
    iss: g.chance(0.9) ? ISSUER : "http://evil/realms/altgate",
    aud: g.pick([[AUDIENCE, "account"], AUDIENCE, ["account"], "account", [], undefined]),
    azp: g.pick(["altgate-portal", AUDIENCE, "cli"]),
    client_id: g.pick(["altgate-portal", "cli", undefined]),
    preferred_username: g.pick(["alice", "bob", "Zoë", undefined]),
    scope: Array.from({ length: g.int(4) }, () => g.pick(SCOPES)).join(" "),
    realm_access: { roles: Array.from({ length: g.int(5) }, () => g.pick(ROLES)) },
    resource_access: { [AUDIENCE]: { roles: Array.from({ length: g.int(3) }, () => g.pick(ROLES)) }, account: { roles: ["manage-account"] } },
    token_type: "Bearer",
  };
  if (g.chance(0.1)) c.nbf = nowS + g.int(120) - 60;
  return c;
}

const WEIRD_VALUES = [
  "true", "false", "null", '"true"', "1", "0", "-1", "1e400", "-1e400", "1.7976931348623157e308", "9007199254740993", "0.5", "1e-400",
  '""', '"x"', "[]", "{}", '["model:read"]', '{"roles":["admin"]}', '{"roles":"admin"}', '[1,2]', '"\\u0000"', '"\\ud800"', "17e8", "4102444800",
];

/** What the issuer sends back for one call: a body (status, bytes), a reset, or nothing until the timeout. */
type Reply = { kind: "respond"; status: number; body: Uint8Array } | { kind: "fail" } | { kind: "hang" };

function reply(g: Gen, nowMs: number): Reply {
  const r = g.next();
  const text = (s: string, status = 200): Reply => ({ kind: "respond", status, body: Buffer.from(s, "utf8") });
  if (r < 0.06) return { kind: "fail" };
  if (r < 0.08) return { kind: "hang" };
  if (r < 0.13) return text(g.chance(0.5) ? JSON.stringify(claims(g, nowMs)) : randomString(g.next), g.pick([201, 204, 301, 400, 401, 403, 404, 429, 500, 502, 503, 504, 0, 999]));
  if (r < 0.45) return text(JSON.stringify(claims(g, nowMs)));
  if (r < 0.55) return text(mutateText(g.next, JSON.stringify(claims(g, nowMs))));
  if (r < 0.7) {
    // One claim replaced by a value of the wrong type, a huge number, or a nested surprise.
    const c = claims(g, nowMs);
    const key = g.pick(["active", "sub", "exp", "nbf", "iat", "scope", "realm_access", "resource_access", "aud", "iss", "azp", "client_id", "preferred_username", "jti", "username"]);
    const json = JSON.stringify({ ...c, [key]: "@@" });
    return text(json.replace('"@@"', g.pick(WEIRD_VALUES)));
  }
  if (r < 0.8) return text(randomJsonText(g.next));
  if (r < 0.85) {
    const bytes = new Uint8Array(g.int(300));
    for (let i = 0; i < bytes.length; i++) bytes[i] = g.int(256);
    return { kind: "respond", status: 200, body: bytes };
  }
  if (r < 0.9) return text(JSON.stringify({ active: false, ...(g.chance(0.5) ? { sub: "x", exp: 4102444800 } : {}) }));
  if (r < 0.95) {
    const nowS = Math.floor(nowMs / 1000);
    return text(
      g.pick([
        () => `{"active":false,"active":true,"sub":"a","exp":${nowS + 60}}`,
        () => `{"active":true,"active":false,"sub":"a","exp":${nowS + 60}}`,
        () => `{"active":true,"sub":"a","sub":"b","exp":${nowS + 60}}`,
        () => `{"active":1,"sub":"a","exp":${nowS + 60}}`,
        () => `{"active":true,"sub":${quoteJson(g.next, "a\ud800")},"exp":${nowS + 60}}`,
        () => `\ufeff{"active":true,"sub":"a","exp":${nowS + 60}}`,
        () => `{"active":true,"sub":"a","exp":${nowS + 60}} trailing`,
        () => `{"active":true,"sub":"a","exp":${nowS + 60},"realm_access":{"roles":[${'"admin",'.repeat(2000)}"auditor"]}}`,
        () => "[".repeat(5000) + "]".repeat(5000),
        () => `{"active":true,"sub":"${"s".repeat(300_000)}","exp":${nowS + 60}}`,
        () => `{"active":true,"sub":"a","exp":${nowS + 60}.999999999999999999999}`,
        () => `{"active":true,"sub":"a","exp":${nowS}.5}`,
      ])(),
    );
  }
  return text(g.pick(["", " ", "null", "true", "{}", "[]", '{"active":true}', "<html>login</html>", '{"error":"invalid_client"}']));
}

/** What the token service's feed sends back for one poll; `revoked` only for well-formed 200s. */
type FeedReply = (Reply & { revoked?: { key: string; exp: number }[] });

function feedReply(g: Gen, nowMs: number, pools: Pools): FeedReply {
  const r = g.next();
  const nowS = Math.floor(nowMs / 1000);
  const text = (s: string, status = 200): Reply => ({ kind: "respond", status, body: Buffer.from(s, "utf8") });
  const key = () =>
    g.pick([
      () => apiTokenKey(g.pick(pools.apiTokens)),
      () => apiTokenKey(g.pick(pools.hot)),
      () => g.pick(JTIS),
      // Lone surrogates would make the whole answer malformed, and the oracle count it as applied.
      () => randomString(g.next).replace(/[\ud800-\udfff]/g, "x"),
      () => "k".repeat(4096 + g.int(3)),
    ])();
  const wellFormed = () => {
    const revoked = Array.from({ length: g.int(5) }, () => ({ key: key(), exp: nowS + g.int(120) - 10 }));
    return { body: JSON.stringify({ cursor: `e${g.int(3)}.${g.int(1e6)}`, revoked }), revoked };
  };
  if (r < 0.06) return { kind: "fail" };
  if (r < 0.08) return { kind: "hang" };
  if (r < 0.3) return text("", 304);
  if (r < 0.35) return text(wellFormed().body, g.pick([201, 204, 400, 404, 500, 503, 0]));
  if (r < 0.75) {
    const w = wellFormed();
    return { ...text(w.body), revoked: w.revoked };
  }
  if (r < 0.87) return text(mutateText(g.next, wellFormed().body));
  if (r < 0.94) return text(randomJsonText(g.next));
  return text(
    g.pick([
      () => `{"cursor":"c.1","revoked":[{"key":"k","exp":${nowS + 60}}],"cursor":"c.2"}`,
      () => `{"cursor":"c.1","revoked":[{"key":"k","exp":"${nowS + 60}"}]}`,
      () => `{"cursor":"c 1","revoked":[]}`,
      () => `{"cursor":"c.1","revoked":{}}`,
      () => `{"cursor":"c.1","revoked":[${"[".repeat(50)}${"]".repeat(50)}]}`,
      () => "[".repeat(5000) + "]".repeat(5000),
      () => `{"cursor":"c.1","revoked":[{"key":"${"x".repeat(5000)}","exp":1e400}]}`,
      () => "\ufeff" + wellFormed().body,
    ])(),
  );
}

// ---- the run -------------------------------------------------------------------------------------

interface Tracked {
  n: number;
  worker: Worker;
  stream: HttpStream;
  headers: HeaderPair[];
  /** The last time the test saw the stream paused (or when it was sent). */
  pausedAt: number;
  /**
   * The same moment as a count of feed answers delivered: many events share a millisecond, and a
   * revocation delivered after a request was already let through in that millisecond is no fault.
   */
  pausedAfterFeedAnswers: number;
  closedByClient: boolean;
}

interface Stats {
  requests: number;
  answers: number;
  failures: number;
  timeouts: number;
  continuedPublic: number;
  continuedAuthenticated: number;
  local: Record<number, number>;
  closed: number;
  epochs: number;
  coalesced: number;
  cacheHits: number;
  feedAnswers: number;
  revokedDenials: number;
  memory: { first: number; maxStart: number; maxEnd: number; perEpoch: [number, number][] };
}

function run(seed: number, minRequests: number, minAnswers: number): { problems: string[]; stats: Stats } {
  const g = new Gen(rng(seed));
  const problems: string[] = [];
  const stats: Stats = {
    requests: 0, answers: 0, failures: 0, timeouts: 0, continuedPublic: 0, continuedAuthenticated: 0, local: {}, closed: 0, epochs: 0, coalesced: 0, cacheHits: 0,
    feedAnswers: 0, revokedDenials: 0,
    memory: { first: 0, maxStart: 0, maxEnd: 0, perEpoch: [] },
  };
  const problem = (n: number, what: string, t?: Tracked) => {
    if (problems.length < 20) problems.push(`seed ${seed} request ${n}: ${what}${t ? ` headers=${JSON.stringify(t.headers)}` : ""}`);
  };
  const all = variants();

  while (stats.requests < minRequests || stats.answers < minAnswers) {
    const v = all[stats.epochs % all.length]!;
    stats.epochs++;
    const proxy = new Proxy({ clusters: [KEYCLOAK_CLUSTER, TOKEN_SERVICE_CLUSTER], startTimeMs: Date.UTC(2025, 0, 1) + g.int(1e9) });
    const workers = [0, 1].map(() => proxy.createWorker(filterModule(), { configuration: JSON.stringify(v.config) }));
    if (!workers.every((w) => w.configured)) throw new Error(`variant ${v.name} did not configure: ${proxy.logs.messages().join("\n")}`);
    const memStart = Math.max(...workers.map((w) => w.memoryBytes));
    if (stats.memory.first === 0) stats.memory.first = memStart;
    const pools: Pools = {
      hot: Array.from({ length: 4 }, () => newToken(g, false)),
      tokens: Array.from({ length: 200 }, () => newToken(g, false)),
      apiTokens: Array.from({ length: 50 }, () => newToken(g, true)),
    };
    const answers = new Map<string, Answer[]>();
    let open: Tracked[] = [];
    // Calls still pending, kept here because proxy.pendingHttpCalls scans every call ever made.
    let pending: HttpCall[] = [];
    let seenCalls = 0;
    const pendingCalls = () => {
      while (seenCalls < proxy.httpCalls.length) pending.push(proxy.httpCalls[seenCalls++]!);
      pending = pending.filter((c) => c.state === "pending");
      return pending;
    };
    let lastSweep = proxy.nowMs;
    const bearers = new Set<string>();
    /** Revocation keys from well-formed feed answers: the latest exp, and when the filter had them. */
    const revoked = new Map<string, { exp: number; at: number; afterFeedAnswers: number }>();
    let feedAnswersDelivered = 0;

    const settleFeed = (call: HttpCall) => {
      if (call.cluster !== TOKEN_SERVICE_CLUSTER || call.header(":authority") !== TOKEN_SERVICE_CLUSTER || call.body.length !== 0) {
        problem(-1, `feed poll ${call.cluster} ${JSON.stringify(call.headers)}`);
      }
      const path = call.header(":path")!;
      if (!path.startsWith(REVOCATION_PATH) || !/^(\?since=[0-9A-Za-z*._%-]+)?$/.test(path.slice(REVOCATION_PATH.length))) problem(-1, `feed poll path ${path}`);
      const rep = feedReply(g, proxy.nowMs, pools);
      if (rep.kind === "hang") return;
      stats.feedAnswers++;
      if (rep.kind === "fail") return call.fail();
      call.respond({ status: rep.status, headers: [["content-type", "application/json"]], body: rep.body });
      feedAnswersDelivered++;
      for (const { key, exp } of rep.revoked ?? []) {
        const known = revoked.get(key);
        if (key.length > 0 && key.length <= 4096 && (!known || exp > known.exp)) revoked.set(key, { exp, at: proxy.nowMs, afterFeedAnswers: feedAnswersDelivered });
      }
    };

    const settle = (call: HttpCall) => {
      if (isFeedPoll(call)) return settleFeed(call);
      const token = new URLSearchParams(call.bodyText).get("token") ?? "";
      // The issuer is asked about exactly the bearer tokens requests carried, at the right place.
      if (!bearers.has(token)) problem(-1, `introspection of a token no request carried as a bearer: ${JSON.stringify(call.bodyText.slice(0, 200))}`);
      const api = token.startsWith("agt_");
      if (call.cluster !== (api ? TOKEN_SERVICE_CLUSTER : KEYCLOAK_CLUSTER) || call.header(":method") !== "POST" || call.bodyText !== `token=${formEncode(token)}&token_type_hint=access_token`) {
        problem(-1, `introspection call ${call.cluster} ${JSON.stringify(call.headers)} ${call.bodyText.slice(0, 200)}`);
      }
      const rep = reply(g, proxy.nowMs);
      if (rep.kind === "hang") return; // left for the host's timeout (Envoy's 504) to settle
      stats.answers++;
      if (rep.kind === "fail") {
        stats.failures++;
        call.fail();
        return;
      }
      const verdict = judge(v, token, rep.status, rep.body, proxy.nowMs);
      if (verdict) answers.set(token, [...(answers.get(token) ?? []), verdict]);
      call.respond({ status: rep.status, headers: [["content-type", "application/json"]], body: rep.body });
    };

    const check = (t: Tracked) => {
      const s = t.stream;
      if (s.state === "reset") {
        if (!t.closedByClient) problem(t.n, `reset without the client closing: ${s.resetDetails}`, t);
        return;
      }
      if (s.state === "local-response") {
        const r = s.localResponse!;
        stats.local[r.status] = (stats.local[r.status] ?? 0) + 1;
        if (![400, 401, 403, 500, 503].includes(r.status)) problem(t.n, `local response status ${r.status}`, t);
        if (r.details === "wasm_fail_stream") problem(t.n, "the VM failed", t);
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(r.bodyText) as Record<string, unknown>;
        } catch {
          problem(t.n, `denial body is not JSON: ${r.bodyText}`, t);
        }
        if (Object.keys(body).sort().join() !== "error,error_description,request_id") problem(t.n, `denial body keys ${r.bodyText}`, t);
        if (body.error_description === "the token has been revoked") stats.revokedDenials++;
        // request_id echoes the client's x-request-id, which never holds a token here.
        if (String(body.error_description).includes(MARK) || r.headers.some(([, val]) => val.includes(MARK))) {
          problem(t.n, `token in a denial: ${r.bodyText}`, t);
        }
        return;
      }
      // Continued upstream: the request must deserve it. The upstream then answers, so that the
      // stream ends and its context goes, as in Envoy (live contexts would only pile up).
      const up = s.upstreamRequest!.headers;
      s.respond({ status: 200 });
      const method = t.headers.find(([k]) => k === ":method")?.[1] ?? "";
      const path = upstreamPath(t.headers.find(([k]) => k === ":path")?.[1]);
      const rule = path === undefined ? undefined : ruleFor(method, path);
      const own = up.filter(([k]) => k.toLowerCase().startsWith(PREFIX));
      // The filter sets token-kind on every request it authenticated.
      if (!own.some(([k]) => k === PREFIX + "token-kind")) {
        stats.continuedPublic++;
        if (own.length > 0) problem(t.n, `client identity headers reached upstream: ${JSON.stringify(own)}`, t);
        if (path === undefined || !rule?.public) problem(t.n, `continued without identity to ${JSON.stringify(path)} (rule ${JSON.stringify(rule)})`, t);
        return;
      }
      stats.continuedAuthenticated++;
      const names = own.map(([k]) => k);
      if (new Set(names).size !== names.length || names.some((k) => !IDENTITY_NAMES.includes(k))) problem(t.n, `identity headers ${JSON.stringify(own)}`, t);
      if (up.some(([k]) => k === "authorization")) problem(t.n, "Authorization went upstream", t);
      const get = (name: string) => up.find(([k]) => k === name)?.[1];
      if (v.signed && !verifyIdentity(get, HMAC_KEY, Math.floor(proxy.nowMs / 1000), PREFIX, 120)) problem(t.n, "signature does not verify", t);
      if (path === undefined) return problem(t.n, "continued with an unroutable path", t);
      if (rule?.public) return;
      if (!rule && !v.defaultAllow) return problem(t.n, `continued to ${JSON.stringify(path)}, which no rule allows`, t);
      const token = bearerOf(t.headers);
      if (token === undefined) return problem(t.n, "continued with identity but without a well-formed bearer token", t);
      const subject = decodeURIComponent(get(PREFIX + "subject") ?? "");
      const roles = (get(PREFIX + "roles") ?? "").split(",").filter((r) => r !== "").map(decodeURIComponent);
      const kind = get(PREFIX + "token-kind");
      const backing = (answers.get(token) ?? []).find(
        (a) =>
          a.at <= proxy.nowMs &&
          a.usableUntil >= t.pausedAt &&
          a.sub === subject &&
          a.kind === kind &&
          roles.every((r) => a.roles.has(r)) &&
          (!rule || satisfies(rule, a)),
      );
      if (!backing) problem(t.n, `continued as ${JSON.stringify(subject)} ${JSON.stringify(roles)} with no active answer for its token that allows ${JSON.stringify(path)}`, t);
      const revocationKey = kind === "api-token" ? apiTokenKey(token) : decodeURIComponent(get(PREFIX + "token-id") ?? "");
      const revocation = revoked.get(revocationKey);
      if (revocation && revocation.afterFeedAnswers <= t.pausedAfterFeedAnswers && revocation.exp > Math.floor(proxy.nowMs / 1000)) {
        problem(t.n, `continued although the feed revoked its token at ${revocation.at} until ${revocation.exp}`, t);
      }
    };

    const sweep = () => {
      const still: Tracked[] = [];
      for (const t of open) {
        if (t.stream.state === "paused") {
          t.pausedAt = proxy.nowMs;
          t.pausedAfterFeedAnswers = feedAnswersDelivered;
          still.push(t);
        } else check(t);
      }
      open = still;
      lastSweep = proxy.nowMs;
      for (const w of workers) if (w.trapped) throw new Error(`seed ${seed}: VM trapped: ${JSON.stringify(w.trapped)}; problems: ${problems.join("\n")}`);
    };

    const epochEnd = stats.requests + EPOCH;
    // Now and then a burst of requests with one token, on both workers, before any answer.
    let burst = 0;
    let burstToken: string | undefined;
    while (stats.requests < epochEnd && (stats.requests < minRequests || stats.answers < minAnswers)) {
      if (burst === 0 && g.chance(0.005)) {
        burst = 5 + g.int(25);
        burstToken = g.chance(0.5) ? g.pick(pools.hot) : newToken(g, g.chance(0.2));
      }
      const inBurst = burst > 0;
      if (inBurst) burst--;
      const worker = workers[g.int(2)]!;
      const headers = requestHeaders(g, pools, inBurst ? burstToken : undefined);
      const bearer = bearerOf(headers);
      if (bearer !== undefined) bearers.add(bearer);
      const stream = withFailingHostCall(g, proxy, REQUEST_CALLS, () => worker.request({ headers }));
      stats.requests++;
      open.push({ n: stats.requests, worker, stream, headers, pausedAt: lastSweep, pausedAfterFeedAnswers: feedAnswersDelivered, closedByClient: false });

      const calls = inBurst ? [] : pendingCalls();
      for (const call of calls) if (g.chance(0.3) || calls.length > 30) withFailingHostCall(g, proxy, HEADER_CALLS, () => settle(call));
      if (g.chance(0.002)) pools.hot[g.int(pools.hot.length)] = newToken(g, g.chance(0.2));
      if (g.chance(0.01) && open.length > 0) {
        const t = g.pick(open);
        if (t.stream.state === "paused") {
          t.closedByClient = true;
          stats.closed++;
          t.stream.close();
        }
      }
      sweep();
      // Mostly nothing or a few ms (requests overlap); now and then long enough for timeouts, ticks
      // and the cache's TTLs to matter.
      const r = inBurst ? 0 : g.next();
      proxy.advance(r < 0.75 ? 0 : r < 0.9 ? 1 + g.int(5) : r < 0.98 ? 5 + g.int(100) : r < 0.998 ? 100 + g.int(2000) : 5000 + g.int(65_000));
      sweep();
    }

    // Drain: answer everything, let ticks and timeouts run; nothing may stay paused.
    for (let round = 0; round < 20 && (open.length > 0 || pendingCalls().length > 0); round++) {
      for (const call of pendingCalls()) settle(call);
      proxy.advance(round < 10 ? 10 : 3000);
      sweep();
    }
    for (const t of open) problem(t.n, "still paused after every call was answered or timed out", t);
    stats.timeouts += proxy.httpCalls.filter((c) => c.state === "timed-out").length;
    stats.answers += proxy.httpCalls.filter((c) => c.state === "timed-out").length;

    for (const line of proxy.logs.lines) if (line.message.includes(MARK)) problem(-1, `token in a log line: ${line.message.slice(0, 300)}`);
    for (const key of proxy.sharedData.keys()) {
      if (key.includes(MARK) || Buffer.from(proxy.sharedData.get(key)!.value).includes(Buffer.from(MARK))) problem(-1, `token in shared data ${key}`);
    }
    stats.coalesced += proxy.metrics.counter("altgate.introspection_coalesced") ?? 0;
    stats.cacheHits += proxy.metrics.counter("altgate.cache_hits") ?? 0;
    if ((proxy.metrics.counter("altgate.revocation_polls") ?? 0) === 0) problem(-1, "the revocation feed was never polled");
    const memEnd = Math.max(...workers.map((w) => w.memoryBytes));
    stats.memory.perEpoch.push([memStart, memEnd]);
    stats.memory.maxStart = Math.max(stats.memory.maxStart, memStart);
    stats.memory.maxEnd = Math.max(stats.memory.maxEnd, memEnd);
  }
  return { problems, stats };
}

describe("the filter under random and malformed input", () => {
  it(
    `never traps and never lets a protected request through without an active introspection answer (seed ${SEED})`,
    () => {
      const started = Date.now();
      const { problems, stats } = run(SEED, MIN_REQUESTS, MIN_ANSWERS);
      const mb = (b: number) => `${(b / 1048576).toFixed(2)} MiB`;
      console.log(
        `filter fuzz seed ${SEED}: ${stats.requests} header sets, ${stats.answers} introspection answers ` +
          `(${stats.failures} resets, ${stats.timeouts} timeouts) in ${stats.epochs} proxies, ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
          `continued: ${stats.continuedPublic} public, ${stats.continuedAuthenticated} authenticated; local responses ${JSON.stringify(stats.local)}; ` +
          `cache hits ${stats.cacheHits}, coalesced ${stats.coalesced}; closed by client ${stats.closed}; ` +
          `${stats.feedAnswers} feed answers, ${stats.revokedDenials} revoked tokens refused; wasm memory per worker: ${mb(stats.memory.first)} at start, ` +
          `at most ${mb(stats.memory.maxEnd)} after ${EPOCH} requests (per proxy start→end: ${stats.memory.perEpoch.map(([a, b]) => `${mb(a)}→${mb(b)}`).join(", ")})`,
      );
      expect(problems).toEqual([]);
      expect(stats.requests).toBeGreaterThanOrEqual(MIN_REQUESTS);
      expect(stats.answers).toBeGreaterThanOrEqual(MIN_ANSWERS);
      // The run is only evidence if every kind of outcome happened often.
      expect(stats.continuedAuthenticated).toBeGreaterThan(stats.requests / 50);
      expect(stats.continuedPublic).toBeGreaterThan(stats.requests / 100);
      for (const status of [400, 401, 403, 503]) expect(stats.local[status] ?? 0).toBeGreaterThan(stats.requests / 200);
      // A refused header call ends in a 500, so a run without them exercised none.
      expect(stats.local[500] ?? 0).toBeGreaterThan(stats.requests / 1000);
      expect(stats.coalesced).toBeGreaterThan(100);
      expect(stats.revokedDenials).toBeGreaterThan(stats.requests / 1000);
    },
    300_000,
  );
});
