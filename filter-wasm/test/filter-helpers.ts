// Shared scaffolding for the tests that run the whole filter build in the TypeScript test host:
// configurations, Keycloak-like introspection answers, requests, and the checks every test
// wants (denial shape, identity headers, no token anywhere it must not be).
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterEach, expect } from "vitest";
import { FILTER_WASM } from "../../test/harness/build-filter.ts";
import {
  compileModule,
  Proxy,
  type HeaderPair,
  type HeaderPairs,
  type HttpCall,
  type HttpStream,
  type ProxyOptions,
  type WasmModule,
  type Worker,
} from "../host/index.ts";

let compiled: WasmModule | undefined;

/** The release build made by the unit project's globalSetup, compiled once per test file. */
export function filterModule(): WasmModule {
  return (compiled ??= compileModule(readFileSync(FILTER_WASM)));
}

export const KEYCLOAK_CLUSTER = "keycloak";
export const KEYCLOAK_AUTHORITY = "keycloak:8080";
export const INTROSPECTION_PATH = "/realms/altgate/protocol/openid-connect/token/introspect";
export const CLIENT_ID = "altgate-gateway";
export const CLIENT_SECRET = "gateway-secret-7Qx";
export const TOKEN_SERVICE_CLUSTER = "altgate-server";
export const TOKEN_SERVICE_PATH = "/internal/v1/introspect";
export const REVOCATION_PATH = "/internal/v1/revocations";
export const HMAC_KEY = "k".repeat(16) + "0123456789abcdef";
export const TIMEOUT_MS = 1500;

export type Rule = {
  prefix?: string;
  exact?: string;
  methods?: string[];
  public?: boolean;
  any_role?: string[];
  all_roles?: string[];
  scopes?: string[];
};

/** The rule set of ARCHITECTURE.md's sketch. */
export const SKETCH_RULES: Rule[] = [
  { prefix: "/healthz", public: true },
  { prefix: "/v1/models", methods: ["GET"], any_role: ["model:read", "model:invoke"] },
  { prefix: "/v1/models", methods: ["POST"], any_role: ["model:invoke"] },
  { prefix: "/v1/tokens", any_role: ["token:manage"] },
];

export interface ConfigOptions {
  positiveTtlS?: number;
  negativeTtlS?: number;
  maxEntries?: number;
  stripAuthorization?: boolean;
  hmacKey?: string;
  headerPrefix?: string;
  keycloakCluster?: string;
  timeoutMs?: number;
  /** Adds the token service issuer for `agt_` tokens. */
  apiTokens?: boolean;
  /** Adds the token service's revocation feed. */
  revocations?: { pollMs?: number; timeoutMs?: number };
  defaultAction?: "allow" | "deny";
  rules?: Rule[];
}

/** A valid configuration in the documented shape; options change one aspect at a time. */
export function filterConfig(o: ConfigOptions = {}): Record<string, unknown> {
  const issuers: Record<string, unknown> = {
    keycloak: {
      cluster: o.keycloakCluster ?? KEYCLOAK_CLUSTER,
      authority: KEYCLOAK_AUTHORITY,
      introspection_path: INTROSPECTION_PATH,
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      timeout_ms: o.timeoutMs ?? TIMEOUT_MS,
    },
  };
  if (o.apiTokens) {
    issuers.api_tokens = {
      cluster: TOKEN_SERVICE_CLUSTER,
      authority: TOKEN_SERVICE_CLUSTER,
      introspection_path: TOKEN_SERVICE_PATH,
      token_prefix: "agt_",
    };
  }
  const revocations = o.revocations && {
    cluster: TOKEN_SERVICE_CLUSTER,
    authority: TOKEN_SERVICE_CLUSTER,
    path: REVOCATION_PATH,
    ...(o.revocations.pollMs !== undefined && { poll_ms: o.revocations.pollMs }),
    ...(o.revocations.timeoutMs !== undefined && { timeout_ms: o.revocations.timeoutMs }),
  };
  const identity: Record<string, unknown> = { strip_authorization: o.stripAuthorization ?? true };
  if (o.headerPrefix !== undefined) identity.header_prefix = o.headerPrefix;
  if (o.hmacKey !== undefined) identity.hmac_key = o.hmacKey;
  const config: Record<string, unknown> = {
    issuers,
    cache: { positive_ttl_s: o.positiveTtlS ?? 60, negative_ttl_s: o.negativeTtlS ?? 5, max_entries: o.maxEntries ?? 20000 },
    rules: o.rules ?? SKETCH_RULES,
    identity,
    on_issuer_failure: "deny",
  };
  if (o.defaultAction !== undefined) config.default_action = o.defaultAction;
  if (revocations) config.revocations = revocations;
  return config;
}

export interface Claims {
  active?: boolean;
  sub?: string;
  username?: string;
  client?: string;
  roles?: string[];
  scope?: string;
  /** Seconds from now (the proxy's clock) until exp; default 300. */
  expiresInS?: number;
  jti?: string;
  /** Merged last, so a test can replace or break any claim. */
  extra?: Record<string, unknown>;
}

export const ALICE = {
  sub: "5f0c2a4e-1b7d-4c55-9e0f-a11ce0000001",
  username: "alice",
  client: "altgate-portal",
  roles: ["model:read", "offline_access", "default-roles-altgate"],
  scope: "openid profile email",
  jti: "onrtac:7d1e9a7c-0b5f-4a55-8c1e-000000000001",
};

/**
 * What Keycloak's token introspection endpoint returns for one of its access tokens: the JWT's
 * claims plus `active`, `client_id`, `username` and `token_type`.
 */
export function keycloakBody(nowMs: number, c: Claims = {}): string {
  const nowS = Math.floor(nowMs / 1000);
  if (c.active === false) return JSON.stringify({ active: false, ...c.extra });
  const client = c.client ?? ALICE.client;
  return JSON.stringify({
    exp: nowS + (c.expiresInS ?? 300),
    iat: nowS - 5,
    auth_time: nowS - 5,
    jti: c.jti ?? ALICE.jti,
    iss: "http://keycloak:8080/realms/altgate",
    aud: ["account"],
    sub: c.sub ?? ALICE.sub,
    typ: "Bearer",
    azp: client,
    sid: "3f4c9d1e-0000-4000-8000-000000000000",
    acr: "1",
    "allowed-origins": ["https://portal.test"],
    realm_access: { roles: c.roles ?? ALICE.roles },
    resource_access: { account: { roles: ["manage-account", "view-profile"] } },
    scope: c.scope ?? ALICE.scope,
    email_verified: true,
    name: "Alice Example",
    preferred_username: c.username ?? ALICE.username,
    given_name: "Alice",
    family_name: "Example",
    email: "alice@example.test",
    client_id: client,
    username: c.username ?? ALICE.username,
    token_type: "Bearer",
    active: true,
    ...c.extra,
  });
}

export function header(pairs: HeaderPairs | undefined, name: string): string | undefined {
  return pairs?.find(([k]) => k === name)?.[1];
}

export function headersWithPrefix(pairs: HeaderPairs | undefined, prefix: string): HeaderPair[] {
  return (pairs ?? []).filter(([k]) => k.toLowerCase().startsWith(prefix));
}

export function upstreamHeader(stream: HttpStream, name: string): string | undefined {
  return header(stream.upstreamRequest?.headers, name);
}

export interface RequestOptions {
  method?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  headers?: HeaderPairs;
  /** Index into the gateway's workers, or the worker itself; default the first. */
  worker?: number | Worker;
}

const gateways: Gateway[] = [];

/**
 * One proxy running the filter on `workers` worker VMs, with the Keycloak and token service
 * clusters known. It remembers every token it handed out and every stream it started, so that
 * `tokenLeaks()` can look for the tokens everywhere the filter writes.
 */
export class Gateway {
  readonly proxy: Proxy;
  readonly workers: Worker[] = [];
  readonly tokens: string[] = [];
  readonly streams: HttpStream[] = [];
  private requestCount = 0;

  constructor(
    opts: {
      config?: Record<string, unknown> | string;
      workers?: number;
      clusters?: string[];
      proxy?: ProxyOptions;
    } = {},
  ) {
    this.proxy = new Proxy({ clusters: opts.clusters ?? [KEYCLOAK_CLUSTER, TOKEN_SERVICE_CLUSTER], ...opts.proxy });
    const config = opts.config ?? filterConfig();
    const configuration = typeof config === "string" ? config : JSON.stringify(config);
    for (let i = 0; i < (opts.workers ?? 1); i++) {
      const worker = this.proxy.createWorker(filterModule(), { configuration });
      expect([worker.started, worker.configured, worker.trapped]).toEqual([true, true, undefined]);
      this.workers.push(worker);
    }
    gateways.push(this);
  }

  get worker(): Worker {
    return this.workers[0]!;
  }

  get nowMs(): number {
    return this.proxy.nowMs;
  }

  /** A fresh opaque bearer token (b64token syntax, including '-', '_' and '~'). */
  token(prefix = ""): string {
    const t = `${prefix}${randomBytes(30).toString("base64url")}~`;
    this.tokens.push(t);
    return t;
  }

  /** Tokens the test made up by hand still count for the leak checks. */
  remember(...tokens: string[]): void {
    this.tokens.push(...tokens);
  }

  request(path: string, o: RequestOptions = {}): HttpStream {
    const worker = typeof o.worker === "number" ? this.workers[o.worker]! : (o.worker ?? this.worker);
    const headers: HeaderPair[] = [
      [":method", o.method ?? "GET"],
      [":path", path],
      [":authority", "api.test"],
      [":scheme", "https"],
      ["x-request-id", `req-${++this.requestCount}`],
      ["user-agent", "filter-test"],
    ];
    if (o.token !== undefined) headers.push(["authorization", `Bearer ${o.token}`]);
    headers.push(...(o.headers ?? []));
    const stream = worker.request({ headers });
    this.streams.push(stream);
    expect(worker.trapped).toBeUndefined();
    return stream;
  }

  /** The one introspection call still waiting for an answer; fails the test if there are none or several. */
  onlyPendingCall(): HttpCall {
    const pending = this.proxy.pendingHttpCalls.filter((c) => !isFeedPoll(c));
    expect(pending).toHaveLength(1);
    return pending[0]!;
  }

  /** Every poll of the revocation feed so far, oldest first. */
  feedPolls(): HttpCall[] {
    return this.proxy.httpCalls.filter(isFeedPoll);
  }

  /** The one feed poll still waiting for an answer; fails the test if there are none or several. */
  pendingFeedPoll(): HttpCall {
    const pending = this.feedPolls().filter((c) => c.state === "pending");
    expect(pending).toHaveLength(1);
    return pending[0]!;
  }

  /** Answers the pending feed poll with 200 and these entries (exp in seconds from now, default an hour). */
  answerFeed(cursor: string, revoked: { key: string; expiresInS?: number }[] = []): HttpCall {
    const call = this.pendingFeedPoll();
    const nowS = Math.floor(this.nowMs / 1000);
    const body = { cursor, revoked: revoked.map((r) => ({ key: r.key, exp: nowS + (r.expiresInS ?? 3600) })) };
    call.respond({ status: 200, headers: [["content-type", "application/json"]], body: JSON.stringify(body) });
    this.expectAlive();
    return call;
  }

  /** Answers the one pending call with a Keycloak-like body for `claims`. */
  answer(claims: Claims = {}): HttpCall {
    const call = this.onlyPendingCall();
    call.respond({ status: 200, headers: [["content-type", "application/json"]], body: keycloakBody(this.nowMs, claims) });
    this.expectAlive();
    return call;
  }

  /** Runs one request with a fresh call answered as `claims`; returns the finished stream. */
  authenticate(path: string, token: string, claims: Claims = {}, o: Omit<RequestOptions, "token"> = {}): HttpStream {
    const stream = this.request(path, { ...o, token });
    expect(stream.state).toBe("paused");
    this.answer(claims);
    return stream;
  }

  counter(name: string): number {
    return this.proxy.metrics.counter(name) ?? 0;
  }

  counters(names: readonly string[]): Record<string, number> {
    return Object.fromEntries(names.map((n) => [n, this.counter(n)]));
  }

  expectAlive(): void {
    for (const w of this.workers) expect(w.trapped).toBeUndefined();
  }

  /** Where any token this gateway handed out shows up in logs, responses or shared data. */
  tokenLeaks(): string[] {
    const found: string[] = [];
    const vmIds = new Set(this.workers.map((w) => w.vmId));
    for (const token of this.tokens) {
      const bytes = Buffer.from(token, "utf8");
      for (const line of this.proxy.logs.lines) if (line.message.includes(token)) found.push(`log line: ${line.message}`);
      for (const s of this.streams) {
        const messages = [s.localResponse, s.downstreamResponse].filter((m) => m !== undefined);
        for (const m of messages) {
          if (m.bodyText.includes(token)) found.push(`response body of stream ${s.contextId}`);
          for (const [k, v] of m.headers) if (v.includes(token)) found.push(`response header ${k} of stream ${s.contextId}`);
        }
      }
      for (const vmId of vmIds) {
        for (const key of this.proxy.sharedData.keys(vmId)) {
          if (key.includes(token)) found.push(`shared data key ${key}`);
          if (Buffer.from(this.proxy.sharedData.get(key, vmId)!.value).includes(bytes)) found.push(`shared data value of ${key}`);
        }
      }
    }
    return found;
  }
}

/**
 * Registers a check, after each test of the calling file, that no token handed out by a Gateway
 * appears in a log line, a response or shared data: the contract says none ever does.
 */
export function checkTokenLeaksAfterEach(): void {
  afterEach(() => {
    const all = gateways.splice(0);
    for (const g of all) expect(g.tokenLeaks()).toEqual([]);
  });
}

export interface Denied {
  status: number;
  body: { error: string; error_description: string; request_id: string };
  wwwAuthenticate: string | undefined;
  retryAfter: string | undefined;
}

/** The filter's local response, checked against the error contract's fixed parts. */
export function denial(stream: HttpStream): Denied {
  expect(stream.state).toBe("local-response");
  expect(stream.upstreamRequest).toBeUndefined();
  const local = stream.localResponse!;
  expect(header(local.headers, "content-type")).toBe("application/json");
  expect(header(local.headers, "cache-control")).toBe("no-store");
  const body = JSON.parse(local.bodyText) as Denied["body"];
  expect(Object.keys(body).sort()).toEqual(["error", "error_description", "request_id"]);
  for (const v of Object.values(body)) expect(typeof v).toBe("string");
  return {
    status: local.status,
    body,
    wwwAuthenticate: header(local.headers, "www-authenticate"),
    retryAfter: header(local.headers, "retry-after"),
  };
}

export function isFeedPoll(call: HttpCall): boolean {
  return call.header(":method") === "GET" && (call.header(":path") ?? "").startsWith(REVOCATION_PATH);
}

/** The revocation feed's key for an API token: SHA-256 of the whole token, lowercase hex. */
export function apiTokenKey(token: string): string {
  return sha256(token).toString("hex");
}

export function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

const SIGNED_FIELDS = ["subject", "username", "client", "roles", "scopes", "token-kind", "token-id"];

/** The server-side verifier of filter-wasm/IDENTITY-SIGNATURE.md, written from that page. */
export function verifyIdentity(
  get: (name: string) => string | undefined,
  key: string,
  nowSeconds: number,
  prefix = "x-altgate-",
  skewSeconds = 60,
): boolean {
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(get(`${prefix}signature`) ?? "");
  if (!m) return false;
  if (Math.abs(nowSeconds - Number(m[1])) > skewSeconds) return false;
  const canonical = ["altgate-identity-v1", ...SIGNED_FIELDS.map((f) => get(prefix + f) ?? ""), m[1]].join("\n");
  const expected = createHmac("sha256", Buffer.from(key, "utf8")).update(canonical, "utf8").digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, "hex"));
}
