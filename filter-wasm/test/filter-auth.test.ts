// The whole filter in the test host: configuration, the denials a client sees, identity headers
// upstream, and route authorization. Each test is one thing a user of the gateway relies on.
import { describe, expect, it } from "vitest";
import { Proxy } from "../host/index.ts";
import {
  ALICE,
  checkTokenLeaksAfterEach,
  CLIENT_ID,
  CLIENT_SECRET,
  denial,
  filterConfig,
  filterModule,
  Gateway,
  header,
  headersWithPrefix,
  HMAC_KEY,
  INTROSPECTION_PATH,
  KEYCLOAK_AUTHORITY,
  KEYCLOAK_CLUSTER,
  TIMEOUT_MS,
  TOKEN_SERVICE_CLUSTER,
  TOKEN_SERVICE_PATH,
  upstreamHeader,
  verifyIdentity,
} from "./filter-helpers.ts";

checkTokenLeaksAfterEach();

// Moved from host.test.ts: the first checks of the filter build in the host, with the token
// service as the only issuer.
describe("the filter build in the test host", () => {
  const configuration = JSON.stringify({
    issuers: {
      api_tokens: { cluster: "altgate-server", authority: "altgate-server", introspection_path: "/internal/v1/introspect" },
    },
    rules: [{ prefix: "/v1/models", any_role: ["model:read"] }],
  });
  const get = (path: string, extra: [string, string][] = []): [string, string][] => [
    [":method", "GET"], [":path", path], [":authority", "api.test"], [":scheme", "https"], ...extra,
  ];

  function startFilter(proxy: Proxy) {
    const worker = proxy.createWorker(filterModule(), { configuration });
    expect([worker.started, worker.configured, worker.trapped]).toEqual([true, true, undefined]);
    return worker;
  }

  it("answers a request without a bearer token with a JSON 401 local response", () => {
    const worker = startFilter(new Proxy({ clusters: ["altgate-server"] }));

    const stream = worker.request({ headers: get("/v1/models") });

    expect(stream.state).toBe("local-response");
    expect(stream.upstreamRequest).toBeUndefined();
    expect(stream.localResponse?.status).toBe(401);
    expect(header(stream.localResponse?.headers, "content-type")).toBe("application/json");
    expect(JSON.parse(stream.localResponse!.bodyText)).toMatchObject({ error: "invalid_token" });
    expect(stream.downstreamResponse?.status).toBe(401);
    expect(stream.closed).toBe(true);
    expect(worker.trapped).toBeUndefined();
    expect(worker.memoryBytes).toBeGreaterThanOrEqual(65536);
  });

  it("refuses a token no configured issuer answers for, without a call", () => {
    const proxy = new Proxy({ clusters: ["altgate-server"] });
    const worker = startFilter(proxy);
    const stream = worker.request({ headers: get("/v1/models", [["authorization", "Bearer not-an-api-token"]]) });
    expect(denial(stream)).toMatchObject({ status: 401, body: { error: "invalid_token" } });
    expect(proxy.httpCalls).toHaveLength(0);
  });

  it("never forwards a request carrying a second Authorization header", () => {
    const proxy = new Proxy({ clusters: ["altgate-server"] });
    const worker = startFilter(proxy);
    const auth: [string, string][] = [
      ["Authorization", "Basic dXNlcjpwYXNz"],
      ["authorization", "Bearer agt_second"],
    ];

    const stream = worker.request({ headers: get("/v1/models", auth) });

    expect(stream.localResponse?.status).toBe(401);
    expect(JSON.parse(stream.localResponse!.bodyText)).toHaveProperty("error");
    expect(proxy.httpCalls).toHaveLength(0);
    expect(worker.trapped).toBeUndefined();
  });
});

describe("configuration", () => {
  it("starts with a configuration in the documented shape and logs nothing alarming", () => {
    const proxy = new Proxy({ clusters: [KEYCLOAK_CLUSTER] });
    const worker = proxy.createWorker(filterModule(), {
      configuration: JSON.stringify(filterConfig({ apiTokens: true, hmacKey: HMAC_KEY, defaultAction: "deny" })),
    });
    expect([worker.started, worker.configured, worker.trapped]).toEqual([true, true, undefined]);
    expect(proxy.logs.lines.filter((l) => ["warn", "error", "critical"].includes(l.level))).toEqual([]);
  });

  const bad: [what: string, config: unknown, field: string][] = [
    ["a negative positive TTL", { ...filterConfig(), cache: { positive_ttl_s: -1 } }, "cache.positive_ttl_s"],
    ["a TTL given as a string", { ...filterConfig(), cache: { negative_ttl_s: "5" } }, "cache.negative_ttl_s"],
    ["no issuers", { rules: [] }, "issuers"],
    ["a misspelt optional field", { ...filterConfig(), identity: { strip_authorisation: false } }, "identity.strip_authorisation"],
    ["an HMAC key shorter than 32 characters", { ...filterConfig(), identity: { hmac_key: "short" } }, "identity.hmac_key"],
    ["a rule with a duplicate role", { ...filterConfig(), rules: [{ prefix: "/a", any_role: ["r", "r"] }] }, "rules[0].any_role[1]"],
    ["a public rule that also requires a role", { ...filterConfig(), rules: [{ prefix: "/a", public: true, any_role: ["r"] }] }, "rules[0]"],
    ["an issuer failure policy other than deny", { ...filterConfig(), on_issuer_failure: "allow" }, "on_issuer_failure"],
  ];

  it.each(bad)("refuses %s, naming the field in a critical log line", (_what, config, field) => {
    const proxy = new Proxy();
    const worker = proxy.createWorker(filterModule(), { configuration: JSON.stringify(config) });

    expect([worker.started, worker.configured, worker.trapped]).toEqual([true, false, undefined]);
    const critical = proxy.logs.messages("critical");
    expect(critical).toHaveLength(1);
    expect(critical[0]).toContain("invalid configuration");
    expect(critical[0]).toContain(`${field}:`);
    // Envoy refuses to serve with a plugin that failed to configure: nothing gets through.
    expect(() => worker.request({ headers: [[":path", "/healthz"]] })).toThrow(/failed to start or configure/);
  });

  it("refuses an empty or non-JSON configuration without echoing secrets", () => {
    for (const configuration of ["", "not json", `{"issuers": {"keycloak": {"client_secret": "${CLIENT_SECRET}"`]) {
      const proxy = new Proxy();
      const worker = proxy.createWorker(filterModule(), { configuration });
      expect(worker.configured).toBe(false);
      expect(proxy.logs.messages("critical")).toEqual([expect.stringMatching(/^altgate: invalid configuration: configuration: /)]);
      expect(proxy.logs.lines.map((l) => l.message).join("\n")).not.toContain(CLIENT_SECRET);
    }
  });

  it("names a bad client secret without logging it", () => {
    const proxy = new Proxy();
    const config = filterConfig();
    const secret = "has a space in it";
    (config.issuers as { keycloak: Record<string, unknown> }).keycloak.client_secret = secret;
    const worker = proxy.createWorker(filterModule(), { configuration: JSON.stringify(config) });
    expect(worker.configured).toBe(false);
    expect(proxy.logs.messages("critical")[0]).toContain("issuers.keycloak.client_secret:");
    expect(proxy.logs.lines.map((l) => l.message).join("\n")).not.toContain(secret);
  });
});

describe("requests without a usable bearer token", () => {
  it("answers a request without Authorization with the contract's 401", () => {
    const gw = new Gateway();
    const stream = gw.request("/v1/models", { headers: [["x-request-id", "ignored-second-id"]] });

    const d = denial(stream);
    expect(d.status).toBe(401);
    expect(d.wwwAuthenticate).toBe('Bearer realm="altgate"');
    expect(d.body).toMatchObject({ error: "invalid_token", request_id: "req-1" });
    expect(d.body.error_description.length).toBeGreaterThan(0);
    expect(stream.downstreamResponse?.status).toBe(401);
    expect(stream.closed).toBe(true);
    expect(gw.proxy.httpCalls).toHaveLength(0);
  });

  const malformed: [what: string, authorization: string[]][] = [
    ["two Authorization headers", ["Basic dXNlcjpwYXNz", "Bearer abc.def"]],
    ["two bearer tokens in two headers", ["Bearer abc", "Bearer abc"]],
    ["the Basic scheme", ["Basic dXNlcjpwYXNz"]],
    ["a scheme without a token", ["Bearer"]],
    ["a scheme followed by spaces only", ["Bearer    "]],
    ["no space after the scheme", ["Bearerabc"]],
    ["a tab instead of a space", ["Bearer\tabc"]],
    ["a space inside the token", ["Bearer abc def"]],
    ["a comma inside the token", ["Bearer abc,def"]],
    ["a quote inside the token", ['Bearer abc"def']],
    ["padding in the middle", ["Bearer ab=cd"]],
    ["non-ASCII in the token", ["Bearer t\u00f6ken"]],
    ["a NUL byte in the token", ["Bearer abc\u0000def"]],
    ["a token longer than 8192 characters", [`Bearer ${"a".repeat(8193)}`]],
  ];

  it.each(malformed)("refuses %s with 401 invalid_request and no issuer call", (_what, values) => {
    const gw = new Gateway();
    const stream = gw.request("/v1/models", { headers: values.map((v) => ["Authorization", v] as const) });

    const d = denial(stream);
    expect(d.status).toBe(401);
    expect(d.body.error).toBe("invalid_request");
    expect(d.wwwAuthenticate).toMatch(/^Bearer realm="altgate", error="invalid_request", error_description="[^"]+"$/);
    expect(gw.proxy.httpCalls).toHaveLength(0);
    for (const v of values) if (v.length > 12) expect(stream.localResponse!.bodyText).not.toContain(v.slice(7));
  });

  it("refuses a malformed token as invalid_request before the route rules, on a path no rule names", () => {
    const gw = new Gateway();
    const d = denial(gw.request("/v2/elsewhere", { headers: [["authorization", "Bearer abc,def"]] }));
    expect(d.status).toBe(401);
    expect(d.body.error).toBe("invalid_request");
  });

  // A worker recognises tokens it has seen by a keyed hash of their bytes and skips the syntax
  // scan for them; a token differing from a known one by any byte is scanned like a new one.
  it.each([
    ["a comma appended", (t: string) => `${t},`],
    ["a quote in the middle", (t: string) => `${t.slice(0, 10)}"${t.slice(11)}`],
    ["padding in the middle", (t: string) => `${t.slice(0, 10)}=${t.slice(11)}`],
    ["a non-ASCII byte at the end", (t: string) => `${t.slice(0, -1)}\u00e9`],
  ])("refuses a known token with %s as malformed, with no issuer call", (_what, alter) => {
    const gw = new Gateway();
    const token = gw.token();
    expect(gw.authenticate("/v1/models", token).state).toBe("continued");
    expect(gw.request("/v1/models", { token }).state).toBe("continued");
    const calls = gw.proxy.httpCalls.length;

    const d = denial(gw.request("/v1/models", { headers: [["authorization", `Bearer ${alter(token)}`]] }));
    expect(d.status).toBe(401);
    expect(d.body.error).toBe("invalid_request");
    expect(gw.proxy.httpCalls).toHaveLength(calls);
  });

  it("accepts the scheme in any case and surrounding whitespace, as RFC 9110 allows", () => {
    const gw = new Gateway();
    const token = gw.token();
    gw.request("/v1/models", { headers: [["authorization", `  bEaReR   ${token} `]] });
    expect(new URLSearchParams(gw.onlyPendingCall().bodyText).get("token")).toBe(token);
    gw.answer();
  });

  it("echoes x-request-id, and a hostile one still yields valid JSON", () => {
    const gw = new Gateway();
    const withId = (id: string) =>
      gw.worker.request({ headers: [[":method", "GET"], [":path", "/v1/models"], [":authority", "api.test"], ["x-request-id", id]] });
    const hostile = 'a"b\\c\n\r\t\u0000\u001f\u007f</script>"}{"error":"none';
    const stream = withId(hostile);
    const d = denial(stream);
    expect(d.body.request_id).toBe(hostile);
    expect(d.body.error).toBe("invalid_token");
    // The raw body is printable ASCII: nothing in it can break a log line or an HTML page.
    expect(stream.localResponse!.bodyText).toMatch(/^[\x20-\x7e]*$/);

    // Header bytes are read one character per byte, so a non-ASCII id is not echoed as sent, but
    // the body stays valid JSON without raw line separators.
    const unicode = withId("\u2028\u2029\u00e9\u{1f600}");
    expect(() => denial(unicode)).not.toThrow();
    expect(unicode.localResponse!.bodyText).not.toMatch(/[\u0000-\u001f\u2028\u2029]/);

    const none = denial(gw.worker.request({ headers: [[":method", "GET"], [":path", "/v1/models"], [":authority", "a"]] }));
    expect(none.body.request_id).toBe("");
  });
});

describe("client-supplied identity headers", () => {
  const injected: [string, string][] = [
    ["X-Altgate-Subject", "admin"],
    ["x-altgate-roles", "token:manage,model:invoke"],
    ["X-ALTGATE-SIGNATURE", "t=1,v1=00"],
    ["x-altgate-token-kind", "api-token"],
    ["x-AltGate-Username", "root"],
    ["x-altgate-", "empty suffix"],
    ["x-altgate-future-field", "anything"],
    ["x-altgate-subject", "second copy"],
  ];

  it("never reach upstream on a public route", () => {
    const gw = new Gateway();
    const token = gw.token();
    const stream = gw.request("/healthz/ready", { token, headers: [...injected, ["x-other", "kept"]] });

    expect(stream.state).toBe("continued");
    const up = stream.upstreamRequest!.headers;
    expect(headersWithPrefix(up, "x-altgate-")).toEqual([]);
    expect(header(up, "x-other")).toBe("kept");
    // A public route needs no token, so the issuer is never asked.
    expect(gw.proxy.httpCalls).toHaveLength(0);
    expect(gw.counter("altgate.requests_public")).toBe(1);
  });

  it("are replaced by the filter's own values on a protected route", () => {
    const gw = new Gateway();
    const token = gw.token();
    const stream = gw.authenticate("/v1/models/iris", token, {}, { headers: injected });

    expect(stream.state).toBe("continued");
    const own = headersWithPrefix(stream.upstreamRequest!.headers, "x-altgate-");
    expect(own).toEqual([
      ["x-altgate-subject", ALICE.sub],
      ["x-altgate-username", ALICE.username],
      ["x-altgate-client", ALICE.client],
      ["x-altgate-roles", ALICE.roles.join(",")],
      ["x-altgate-scopes", "openid,profile,email"],
      ["x-altgate-token-kind", "oidc"],
      ["x-altgate-token-id", ALICE.jti],
    ]);
  });

  it("cannot fill in fields the identity leaves empty", () => {
    const gw = new Gateway();
    const token = gw.token();
    // No username, scope or jti: the filter omits those headers, and the client's must not survive.
    const stream = gw.authenticate("/v1/models", token, { extra: { preferred_username: undefined, username: undefined, scope: undefined, jti: undefined } }, {
      headers: [["x-altgate-username", "root"], ["x-altgate-scopes", "admin"], ["x-altgate-token-id", "forged"]],
    });
    expect(stream.state).toBe("continued");
    const up = stream.upstreamRequest!.headers;
    expect(headersWithPrefix(up, "x-altgate-").map(([k]) => k)).toEqual([
      "x-altgate-subject",
      "x-altgate-client",
      "x-altgate-roles",
      "x-altgate-token-kind",
    ]);
  });

  it("are stripped whatever bytes follow the prefix", () => {
    const gw = new Gateway();
    const stream = gw.request("/healthz", {
      headers: [["x-altgate-subject\u00e9", "1"], ["X-Altgate-\u00dcser", "2"], ["x-altgate-\u{1f600}", "3"]],
    });
    expect(stream.state).toBe("continued");
    expect(headersWithPrefix(stream.upstreamRequest!.headers, "x-altgate-")).toEqual([]);
  });

  it("are stripped under a configured prefix, and only that prefix is special", () => {
    const gw = new Gateway({ config: filterConfig({ headerPrefix: "x-corp-id-" }) });
    const token = gw.token();
    const stream = gw.authenticate("/v1/models", token, {}, {
      headers: [["X-Corp-Id-Subject", "admin"], ["x-corp-id-extra", "1"], ["x-altgate-subject", "not ours now"]],
    });
    const up = stream.upstreamRequest!.headers;
    expect(header(up, "x-corp-id-subject")).toBe(ALICE.sub);
    expect(header(up, "x-corp-id-extra")).toBeUndefined();
    expect(header(up, "x-altgate-subject")).toBe("not ours now");
  });
});

// Every request's header pairs land in one buffer the VM reuses (abi/memory.ts).
describe("header pairs read into the VM's reused buffer", () => {
  it("a request with no headers at all leaves the host's next answer where it belongs", () => {
    const gw = new Gateway();
    const waiting = gw.request("/v1/models", { token: gw.token() });
    expect(waiting.state).toBe("paused");
    // The host allocates nothing for an empty map: the buffer armed for it must not catch the
    // introspection answer the waiting request gets next.
    expect(denial(gw.worker.request({ headers: [] })).status).toBe(400);
    gw.answer();
    expect(waiting.state).toBe("continued");
    expect(header(waiting.upstreamRequest!.headers, "x-altgate-subject")).toBe(ALICE.sub);
  });

  it("reads headers larger than the buffer first was whole, and smaller ones after them without stale bytes", () => {
    const gw = new Gateway();
    const token = gw.token();
    const cookie = `session=${"c".repeat(20_000)}`;
    const big = gw.authenticate("/v1/models", token, {}, { headers: [["cookie", cookie], ["x-altgate-subject", "forged"]] });
    expect(big.state).toBe("continued");
    expect(header(big.upstreamRequest!.headers, "cookie")).toBe(cookie);
    expect(header(big.upstreamRequest!.headers, "x-altgate-subject")).toBe(ALICE.sub);

    const small = gw.request("/v1/models", { token });
    expect(small.state).toBe("continued");
    expect(header(small.upstreamRequest!.headers, "cookie")).toBeUndefined();
    // The previous requests' Authorization is still in the buffer's bytes past this request's end.
    expect(denial(gw.request("/v1/models")).body.error).toBe("invalid_token");
    expect(gw.proxy.httpCalls).toHaveLength(1);
  });
});

// Envoy refuses these calls only when a stream's headers are gone; whatever the cause, a request
// the filter could not read or change is refused, never passed on half-done.
describe("a proxy that will not read or change the request's headers", () => {
  function refusedWith500(stream: ReturnType<Gateway["request"]>, description: RegExp) {
    const d = denial(stream);
    expect(d.status).toBe(500);
    expect(d.body.error).toBe("server_error");
    expect(d.body.error_description).toMatch(description);
  }

  it("gets a 500 instead of a public route left unstripped, when the headers cannot be read", () => {
    const gw = new Gateway();
    gw.proxy.failingHostCalls.add("proxy_get_header_map_pairs");
    refusedWith500(gw.request("/healthz", { headers: [["x-altgate-subject", "admin"]] }), /hand over the request's headers/);
    expect(gw.counter("altgate.denied.proxy_error")).toBe(1);

    gw.proxy.failingHostCalls.clear();
    const stream = gw.request("/healthz", { headers: [["x-altgate-subject", "admin"]] });
    expect(stream.state).toBe("continued");
    expect(headersWithPrefix(stream.upstreamRequest!.headers, "x-altgate-")).toEqual([]);
  });

  it("gets a 500 when a client's identity header or Authorization cannot be removed", () => {
    const gw = new Gateway();
    gw.proxy.failingHostCalls.add("proxy_remove_header_map_value");
    refusedWith500(gw.request("/healthz", { headers: [["x-altgate-roles", "token:manage"]] }), /client-supplied identity header/);
    refusedWith500(gw.request("/healthz", { token: gw.token() }), /Authorization header/);
    expect(gw.counter("altgate.requests_public")).toBe(0);
  });

  it("gets a 500 for a valid token when the identity headers cannot be set, and passes once they can", () => {
    const gw = new Gateway();
    const token = gw.token();
    gw.proxy.failingHostCalls.add("proxy_replace_header_map_value");
    const stream = gw.authenticate("/v1/models", token);
    refusedWith500(stream, /identity headers/);
    expect(gw.counter("altgate.requests_allowed")).toBe(0);

    gw.proxy.failingHostCalls.clear();
    const again = gw.request("/v1/models", { token });
    expect(again.state).toBe("continued");
    expect(header(again.upstreamRequest!.headers, "x-altgate-subject")).toBe(ALICE.sub);
    expect(gw.proxy.httpCalls).toHaveLength(1);
  });
});

describe("a valid token", () => {
  it("is introspected with exactly one RFC 7662 call to the configured cluster, pausing the request", () => {
    const gw = new Gateway();
    // '+', '/', '~' and '=' need form encoding; the issuer must receive the token unchanged.
    const token = gw.token() + "+/.-_==";
    gw.remember(token);
    const stream = gw.request("/v1/models", { token });

    expect(stream.state).toBe("paused");
    expect(stream.upstreamRequest).toBeUndefined();
    expect(gw.proxy.httpCalls).toHaveLength(1);
    const call = gw.proxy.httpCalls[0]!;
    expect(call.cluster).toBe(KEYCLOAK_CLUSTER);
    expect(call.timeoutMs).toBe(TIMEOUT_MS);
    expect(call.header(":method")).toBe("POST");
    expect(call.header(":path")).toBe(INTROSPECTION_PATH);
    expect(call.header(":authority")).toBe(KEYCLOAK_AUTHORITY);
    expect(call.header("content-type")).toBe("application/x-www-form-urlencoded");
    const basic = call.header("authorization")!;
    expect(basic).toMatch(/^Basic /);
    expect(Buffer.from(basic.slice(6), "base64").toString()).toBe(`${CLIENT_ID}:${CLIENT_SECRET}`);
    expect(call.bodyText).toBe(new URLSearchParams({ token, token_type_hint: "access_token" }).toString());
    expect(call.bodyText).toBe(`token=${encodeURIComponent(token).replace(/~/g, "%7E")}&token_type_hint=access_token`);

    gw.answer();
    expect(stream.state).toBe("continued");
    expect(gw.proxy.httpCalls).toHaveLength(1);
  });

  it("goes upstream with the identity headers and without Authorization", () => {
    const gw = new Gateway();
    const token = gw.token();
    const stream = gw.request("/v1/models/iris/infer", {
      method: "POST",
      token,
      headers: [["content-type", "application/json"]],
    });
    gw.answer({ roles: ["model:invoke"], scope: "openid  email", client: "cli-tool", sub: "user-42", username: "bob" });

    expect(stream.state).toBe("continued");
    const up = stream.upstreamRequest!.headers;
    expect(header(up, "authorization")).toBeUndefined();
    expect(up.some(([, v]) => v.includes(token))).toBe(false);
    expect(header(up, "x-altgate-subject")).toBe("user-42");
    expect(header(up, "x-altgate-username")).toBe("bob");
    expect(header(up, "x-altgate-client")).toBe("cli-tool");
    expect(header(up, "x-altgate-roles")).toBe("model:invoke");
    expect(header(up, "x-altgate-scopes")).toBe("openid,email");
    expect(header(up, "x-altgate-token-kind")).toBe("oidc");
    expect(header(up, "x-altgate-token-id")).toBe(ALICE.jti);
    expect(header(up, "x-altgate-signature")).toBeUndefined();
    // Everything else is the client's request, untouched.
    expect(header(up, ":path")).toBe("/v1/models/iris/infer");
    expect(header(up, ":method")).toBe("POST");
    expect(header(up, "content-type")).toBe("application/json");
    expect(header(up, "x-request-id")).toBe("req-1");
  });

  it("holds the request body until the verdict, then sends it upstream intact", () => {
    const gw = new Gateway();
    const token = gw.token();
    const body = JSON.stringify({ inputs: [{ name: "x", shape: [1, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2] }] });
    const post = (t: string) =>
      gw.worker.request({
        headers: [[":method", "POST"], [":path", "/v1/models/iris/infer"], [":authority", "api.test"], ["authorization", `Bearer ${t}`], ["content-length", String(body.length)]],
        body,
      });
    const allowed = post(token);
    expect(allowed.state).toBe("paused");
    gw.answer({ roles: ["model:invoke"] });
    expect(allowed.upstreamRequest?.bodyText).toBe(body);

    const refused = post(gw.token());
    gw.answer({ roles: ["model:read"] });
    expect(denial(refused).status).toBe(403);
  });

  it("keeps Authorization when strip_authorization is false", () => {
    const gw = new Gateway({ config: filterConfig({ stripAuthorization: false }) });
    const token = gw.token();
    const stream = gw.authenticate("/v1/models", token);
    expect(upstreamHeader(stream, "authorization")).toBe(`Bearer ${token}`);
    expect(upstreamHeader(stream, "x-altgate-subject")).toBe(ALICE.sub);
    // The token goes upstream by configuration; the after-each check sees it nowhere else.
  });

  it("percent-encodes identity values so they cannot split or forge headers", () => {
    const gw = new Gateway();
    const token = gw.token();
    const stream = gw.authenticate("/v1/models", token, {
      username: "Zoë Ünicode, Jr.%",
      sub: "sub with spaces",
      roles: ["model:read", "has,comma", "has space", "ok-role"],
    });
    const up = stream.upstreamRequest!.headers;
    expect(header(up, "x-altgate-username")).toBe("Zo%C3%AB%20%C3%9Cnicode%2C%20Jr.%25");
    expect(decodeURIComponent(header(up, "x-altgate-username")!)).toBe("Zoë Ünicode, Jr.%");
    expect(decodeURIComponent(header(up, "x-altgate-subject")!)).toBe("sub with spaces");
    // Roles that cannot travel in a comma-separated list are dropped, never merged.
    expect(header(up, "x-altgate-roles")).toBe("model:read,ok-role");
    for (const [k, v] of headersWithPrefix(up, "x-altgate-")) expect(v, k).toMatch(/^[\x21-\x7e]+$/);
  });

  it("carries a signature the server's verifier accepts when hmac_key is configured", () => {
    const gw = new Gateway({ config: filterConfig({ hmacKey: HMAC_KEY }) });
    const token = gw.token();
    gw.proxy.advance(12_345);
    const stream = gw.authenticate("/v1/models", token);
    const up = stream.upstreamRequest!.headers;
    const nowS = Math.floor(gw.nowMs / 1000);
    const get = (name: string) => header(up, name);

    expect(get("x-altgate-signature")).toMatch(new RegExp(`^t=${nowS},v1=[0-9a-f]{64}$`));
    expect(verifyIdentity(get, HMAC_KEY, nowS)).toBe(true);
    // The verifier is not vacuous: another key, another value or a stale timestamp fails it.
    expect(verifyIdentity(get, HMAC_KEY.replace("0", "1"), nowS)).toBe(false);
    expect(verifyIdentity((n) => (n === "x-altgate-roles" ? "token:manage" : get(n)), HMAC_KEY, nowS)).toBe(false);
    expect(verifyIdentity((n) => (n === "x-altgate-username" ? undefined : get(n)), HMAC_KEY, nowS)).toBe(false);
    expect(verifyIdentity(get, HMAC_KEY, nowS + 61)).toBe(false);

    // A cached identity is signed afresh, with the time of the request that uses it.
    gw.proxy.advance(30_000);
    const again = gw.request("/v1/models", { token });
    const get2 = (name: string) => upstreamHeader(again, name);
    expect(get2("x-altgate-signature")).toMatch(new RegExp(`^t=${nowS + 30},`));
    expect(verifyIdentity(get2, HMAC_KEY, nowS + 30)).toBe(true);
  });

  it("of the token service goes to that issuer and is marked api-token", () => {
    const gw = new Gateway({ config: filterConfig({ apiTokens: true }) });
    const token = gw.token("agt_");
    const stream = gw.request("/v1/tokens", { token });
    const call = gw.onlyPendingCall();
    expect(call.cluster).toBe(TOKEN_SERVICE_CLUSTER);
    expect(call.header(":path")).toBe(TOKEN_SERVICE_PATH);
    expect(call.header("authorization")).toBeUndefined();
    call.respond({
      body: JSON.stringify({ active: true, sub: ALICE.sub, username: "alice", client_id: "api-token", jti: "tok_123", exp: Math.floor(gw.nowMs / 1000) + 60, realm_access: { roles: ["token:manage"] } }),
    });
    expect(stream.state).toBe("continued");
    expect(upstreamHeader(stream, "x-altgate-token-kind")).toBe("api-token");
    expect(upstreamHeader(stream, "x-altgate-token-id")).toBe("tok_123");

    // Other tokens still go to Keycloak.
    gw.request("/v1/models", { token: gw.token() });
    expect(gw.onlyPendingCall().cluster).toBe(KEYCLOAK_CLUSTER);
    gw.answer();
  });
});

describe("route authorization", () => {
  it("refuses a user without the rule's role with 403 naming the role", () => {
    const gw = new Gateway();
    const token = gw.token();
    const stream = gw.authenticate("/v1/tokens", token, { roles: ["model:read", "offline_access"] });

    const d = denial(stream);
    expect(d.status).toBe(403);
    expect(d.body.error).toBe("insufficient_scope");
    expect(d.body.error_description).toContain("token:manage");
    expect(d.wwwAuthenticate).toMatch(/^Bearer realm="altgate", error="insufficient_scope", error_description="[^"]*token:manage[^"]*"$/);

    // The same cached identity may do what its roles allow, and not what they do not.
    expect(gw.request("/v1/models", { token }).state).toBe("continued");
    const post = denial(gw.request("/v1/models/iris/infer", { token, method: "POST" }));
    expect(post.status).toBe(403);
    expect(gw.proxy.httpCalls).toHaveLength(1);
  });

  it("needs every role of all_roles and every scope of scopes", () => {
    const rules = [{ prefix: "/admin", all_roles: ["admin", "auditor"], scopes: ["admin:write"] }];
    const gw = new Gateway({ config: filterConfig({ rules }) });
    const cases: [roles: string[], scope: string, expected: number | string][] = [
      [["admin"], "admin:write", "missing role: auditor"],
      [["admin", "auditor"], "openid", "missing scope: admin:write"],
      [["auditor", "admin"], "openid admin:write", 200],
    ];
    for (const [roles, scope, expected] of cases) {
      const stream = gw.authenticate("/admin/x", gw.token(), { roles, scope });
      if (expected === 200) expect(stream.state).toBe("continued");
      else expect(denial(stream).body.error_description).toContain(expected);
    }
  });

  it("lets a public route through without calling the issuer, token or not", () => {
    const gw = new Gateway();
    const bad = "Bearer \u0000 not a token";
    for (const headers of [[], [["authorization", `Bearer ${gw.token()}`]], [["authorization", bad]]] as [string, string][][]) {
      const stream = gw.request("/healthz", { headers });
      expect(stream.state).toBe("continued");
    }
    expect(gw.proxy.httpCalls).toHaveLength(0);
  });

  it("refuses a request that matches no rule (default deny), and allows it under default_action allow", () => {
    const gw = new Gateway();
    const token = gw.token();
    expect(denial(gw.request("/v2/elsewhere")).status).toBe(401);
    const d = denial(gw.request("/v2/elsewhere", { token }));
    expect(d.status).toBe(403);
    expect(d.body.error).toBe("insufficient_scope");
    // No token could open a route no rule allows: the issuer is not asked.
    expect(gw.proxy.httpCalls).toHaveLength(0);
    // A method the matching-path rules do not list is no match either.
    expect(denial(gw.request("/v1/models", { token, method: "DELETE" })).status).toBe(403);

    const open = new Gateway({ config: filterConfig({ defaultAction: "allow" }) });
    expect(open.authenticate("/v2/elsewhere", open.token()).state).toBe("continued");
    expect(denial(open.request("/v2/elsewhere")).status).toBe(401);
  });

  it.each([
    "/v1/models/../tokens",
    "/v1/models/./iris",
    "/v1/models%2F..%2Ftokens",
    "/v1/%2e%2e/tokens",
    "/v1/models%2firis",
    "//v1/models",
    "/v1/models;jsessionid=1",
    "/v1/models\\..\\tokens",
    "/v1/models/%zz",
    "/v1/models/%00",
    "*",
    "http://api.test/v1/models",
    "",
  ])("refuses the ambiguous path %j with 400 and no issuer call", (path) => {
    const gw = new Gateway();
    const token = gw.token();
    const d = denial(gw.request(path, { token }));
    expect(d.status).toBe(400);
    expect(d.body.error).toBe("invalid_request");
    expect(d.wwwAuthenticate).toBeUndefined();
    expect(gw.proxy.httpCalls).toHaveLength(0);
  });

  it("matches percent-decoded paths, so an escape cannot dodge a rule", () => {
    const gw = new Gateway();
    const token = gw.token();
    expect(denial(gw.authenticate("/v1/%74okens", token)).status).toBe(403);
    expect(denial(gw.request("/v1/Tokens", { token })).status).toBe(403);
    expect(gw.request("/%68ealthz").state).toBe("continued");
    expect(gw.request("/v1/models?x=/../tokens#frag", { token }).state).toBe("continued");
    // HEAD is served by GET handlers, so a GET rule covers it.
    expect(gw.request("/v1/models", { token, method: "HEAD" }).state).toBe("continued");
  });
});

describe("tokens the issuer does not vouch for", () => {
  it("refuses an inactive (unknown) token with 401 invalid_token after introspection", () => {
    const gw = new Gateway();
    const stream = gw.authenticate("/v1/models", gw.token(), { active: false });
    const d = denial(stream);
    expect(d.status).toBe(401);
    expect(d.body.error).toBe("invalid_token");
    expect(d.wwwAuthenticate).toMatch(/^Bearer realm="altgate", error="invalid_token", error_description="[^"]+"$/);
  });

  it.each([
    ["expired a second ago", { expiresInS: -1 }],
    ["expiring this very second", { expiresInS: 0 }],
    ["without exp", { extra: { exp: undefined } }],
    ["without sub", { extra: { sub: undefined } }],
    ["with an empty sub", { sub: "" }],
    ["with nbf years ahead", { extra: { nbf: 2_000_000_000 } }],
    ["with exp as a string", { extra: { exp: "9999999999" } }],
    ["with roles that are not an array", { extra: { realm_access: { roles: "model:read" } } }],
    ["with a control character in sub", { sub: "alice\r\nx-altgate-roles: admin" }],
  ] as const)("refuses a token %s with 401", (_what, claims) => {
    const gw = new Gateway();
    const stream = gw.authenticate("/v1/models", gw.token(), claims);
    const d = denial(stream);
    expect(d.status).toBe(401);
    expect(d.body.error).toBe("invalid_token");
  });

  it.each([
    ["an empty body", ""],
    ["an HTML page", "<html><body>Keycloak</body></html>"],
    ["a truncated body", '{"active":true,"sub":"a","exp":99999999999'],
    ["a duplicate active member", '{"active":false,"active":true,"sub":"a","exp":99999999999}'],
    ["a JSON array", "[true]"],
    ["active as the string \"true\"", '{"active":"true","sub":"a","exp":99999999999}'],
  ])("answers 503 and caches nothing when the issuer's 200 answer is %s (no introspection response)", (_what, body) => {
    const gw = new Gateway();
    const token = gw.token();
    const stream = gw.request("/v1/models", { token });
    gw.onlyPendingCall().respond({ status: 200, body });
    const d = denial(stream);
    expect([d.status, d.body.error]).toEqual([503, "temporarily_unavailable"]);
    gw.request("/v1/models", { token });
    expect(gw.proxy.httpCalls).toHaveLength(2);
  });
});
