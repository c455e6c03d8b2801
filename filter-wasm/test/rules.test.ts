import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ASUtil } from "@assemblyscript/loader";
import { loadEntry } from "./asc.ts";
import { rng, withStrings } from "./wasm-values.ts";

type Exports = {
  resetRules(): void;
  addRule(prefix: number, exact: number, methods: number, isPublic: number, anyRole: number, allRoles: number, scopes: number): void;
  evaluate(method: number, path: number, roles: number, scopes: number): number;
  canonical(path: number): number;
};

let mod: ASUtil & Exports;
beforeAll(async () => {
  mod = await loadEntry<Exports>("filter-wasm/test/entries/rules.ts");
});

type RuleSpec = { prefix?: string; exact?: string; methods?: string[]; public?: boolean; anyRole?: string[]; allRoles?: string[]; scopes?: string[] };
const setRules = (specs: RuleSpec[]) => {
  mod.resetRules();
  for (const r of specs) {
    const strs = [r.prefix ?? "", r.exact ?? "", (r.methods ?? []).join(","), (r.anyRole ?? []).join(","), (r.allRoles ?? []).join(","), (r.scopes ?? []).join(",")];
    withStrings(mod, strs, ([p, e, m, a, all, s]) => mod.addRule(p!, e!, m!, r.public ? 1 : 0, a!, all!, s!));
  }
};
const evaluate = (method: string, path: string, roles: string[] = [], scopes: string[] = []) =>
  withStrings(mod, [method, path, roles.join(","), scopes.join(",")], ([m, p, r, s]) => mod.__getString(mod.evaluate(m!, p!, r!, s!)));
const canonical = (path: string) => withStrings(mod, [path], ([p]) => mod.__getString(mod.canonical(p!)));

// The rules of the architecture sketch.
const sketch: RuleSpec[] = [
  { prefix: "/healthz", public: true },
  { prefix: "/v1/models", methods: ["GET"], anyRole: ["model:read", "model:invoke"] },
  { prefix: "/v1/models", methods: ["POST"], anyRole: ["model:invoke"] },
  { prefix: "/v1/tokens", anyRole: ["token:manage"] },
];

describe("route rules", () => {
  beforeEach(() => setRules(sketch));

  it("public rules need nothing", () => {
    expect(evaluate("GET", "/healthz")).toBe("public#0");
    expect(evaluate("GET", "/healthz/live?verbose=1")).toBe("public#0");
  });

  it("prefix matches at segment boundaries only", () => {
    expect(evaluate("GET", "/v1/models", ["model:read"])).toBe("allowed#1");
    expect(evaluate("GET", "/v1/models/iris", ["model:read"])).toBe("allowed#1");
    expect(evaluate("GET", "/v1/models/", ["model:read"])).toBe("allowed#1");
    expect(evaluate("GET", "/v1/modelsfoo", ["model:read"])).toBe("nomatch");
    expect(evaluate("GET", "/v1/model", ["model:read"])).toBe("nomatch");
    expect(evaluate("GET", "/healthzx")).toBe("nomatch");
  });

  it("first matching rule wins; methods select among rules; no method list means any", () => {
    expect(evaluate("POST", "/v1/models/iris/infer", ["model:read"])).toBe("denied#2:missing role: one of model:invoke");
    expect(evaluate("POST", "/v1/models/iris/infer", ["model:invoke"])).toBe("allowed#2");
    expect(evaluate("DELETE", "/v1/models/iris", ["model:invoke"])).toBe("nomatch");
    expect(evaluate("DELETE", "/v1/tokens/abc", ["token:manage"])).toBe("allowed#3");
    setRules([{ prefix: "/v1", public: true }, ...sketch]);
    expect(evaluate("GET", "/v1/tokens")).toBe("public#0");
  });

  it("methods compare case-insensitively, and GET covers HEAD", () => {
    expect(evaluate("get", "/v1/models", ["model:read"])).toBe("allowed#1");
    expect(evaluate("HEAD", "/v1/models", [])).toBe("denied#1:missing role: one of model:read, model:invoke");
    setRules([{ prefix: "/x", methods: ["post"], public: true }]);
    expect(evaluate("POST", "/x")).toBe("public#0");
    expect(evaluate("HEAD", "/x")).toBe("nomatch");
  });

  it("any_role needs one, all_roles needs every one, scopes needs every one; the reason names what is missing", () => {
    setRules([{ prefix: "/a", anyRole: ["r1", "r2"], allRoles: ["base", "extra"], scopes: ["s1", "s2"] }]);
    expect(evaluate("GET", "/a", ["r2", "base", "extra"], ["s2", "s1"])).toBe("allowed#0");
    expect(evaluate("GET", "/a", ["base", "extra"], ["s1", "s2"])).toBe("denied#0:missing role: one of r1, r2");
    expect(evaluate("GET", "/a", ["r1", "base"], ["s1", "s2"])).toBe("denied#0:missing role: extra");
    expect(evaluate("GET", "/a", ["r1", "base", "extra"], ["s1"])).toBe("denied#0:missing scope: s2");
    // Roles and scopes are separate namespaces.
    expect(evaluate("GET", "/a", ["r1", "base", "extra", "s1", "s2"], [])).toBe("denied#0:missing scope: s1");
  });

  it("a protected rule without requirements admits any authenticated caller", () => {
    setRules([{ prefix: "/me" }]);
    expect(evaluate("GET", "/me")).toBe("allowed#0");
  });

  it("exact rules match the whole path, with or without one trailing slash", () => {
    setRules([{ exact: "/v1/tokens", anyRole: ["token:manage"] }, { prefix: "/", public: true }]);
    expect(evaluate("GET", "/v1/tokens")).toBe("denied#0:missing role: one of token:manage");
    expect(evaluate("GET", "/v1/tokens/")).toBe("denied#0:missing role: one of token:manage");
    expect(evaluate("GET", "/v1/tokens?x=1")).toBe("denied#0:missing role: one of token:manage");
    expect(evaluate("GET", "/v1/tokens/abc")).toBe("public#1");
    expect(evaluate("GET", "/v1/tokensx")).toBe("public#1");
    setRules([{ exact: "/", public: true }]);
    expect(evaluate("GET", "/")).toBe("public#0");
    expect(evaluate("GET", "/x")).toBe("nomatch");
  });

  it("a prefix ending in / matches below it only; '/' matches everything", () => {
    setRules([{ prefix: "/v1/models/", public: true }, { prefix: "/" }]);
    expect(evaluate("GET", "/v1/models/x")).toBe("public#0");
    expect(evaluate("GET", "/v1/models")).toBe("allowed#1");
    expect(evaluate("GET", "/anything/at/all")).toBe("allowed#1");
  });

  it("a rule with neither prefix nor exact matches nothing", () => {
    setRules([{ public: true }]);
    expect(evaluate("GET", "/v1/tokens")).toBe("nomatch");
  });

  it("no rules: nothing matches", () => {
    setRules([]);
    expect(evaluate("GET", "/")).toBe("nomatch");
  });
});

describe("path canonicalisation", () => {
  beforeEach(() => setRules(sketch));

  it("drops query and fragment, keeps a trailing slash", () => {
    expect(canonical("/v1/models?a=/../b#c")).toBe("/v1/models");
    expect(canonical("/v1/models#/../tokens")).toBe("/v1/models");
    expect(canonical("/v1/models/")).toBe("/v1/models/");
    expect(canonical("/")).toBe("/");
    expect(canonical("/?x")).toBe("/");
  });

  it("decodes harmless percent-escapes, so an encoded letter cannot dodge a rule", () => {
    expect(canonical("/v1/%74okens")).toBe("/v1/tokens");
    expect(canonical("/v1/tok%65ns/%7e%3A")).toBe("/v1/tokens/~:");
    expect(evaluate("GET", "/v1/%74okens", ["model:read"])).toBe("denied#3:missing role: one of token:manage");
    expect(canonical("/a%20b")).toBe("/a b");
    expect(canonical("/%C3%A9")).toBe("/\u00c3\u00a9");
  });

  it.each([
    ["/v1/models/../tokens", "dot-segment in path"],
    ["/v1/models/./x", "dot-segment in path"],
    ["/..", "dot-segment in path"],
    ["/v1/models/..", "dot-segment in path"],
    ["/v1/models/%2e%2e/tokens", "forbidden percent-encoded character in path"],
    ["/v1/models/.%2E/tokens", "forbidden percent-encoded character in path"],
    ["/v1/models%2Ftokens", "forbidden percent-encoded character in path"],
    ["/v1/models%2f..%2ftokens", "forbidden percent-encoded character in path"],
    ["/v1/models/%5C..%5Ctokens", "forbidden percent-encoded character in path"],
    ["/v1/models/%252e%252e/tokens", "forbidden percent-encoded character in path"],
    ["/v1/tokens%3Bx", "forbidden percent-encoded character in path"],
    ["/v1/tokens%00", "forbidden percent-encoded character in path"],
    ["/v1/tokens%3f", "forbidden percent-encoded character in path"],
    ["/v1/tokens%23", "forbidden percent-encoded character in path"],
    ["//v1/tokens", "empty path segment"],
    ["/v1//tokens", "empty path segment"],
    ["/v1/models//", "empty path segment"],
    ["/v1/models\\..\\tokens", "forbidden character in path"],
    ["/v1/tokens;jsessionid=x", "forbidden character in path"],
    ["/v1/models/..;/tokens", "forbidden character in path"],
    ["/v1/to kens", "forbidden character in path"],
    ["/v1/tökens", "forbidden character in path"],
    ["/v1/tokens\u0000", "forbidden character in path"],
    ["/v1/tokens\r\n", "forbidden character in path"],
    ["/v1/%", "malformed percent-encoding in path"],
    ["/v1/%4", "malformed percent-encoding in path"],
    ["/v1/%4?x", "malformed percent-encoding in path"],
    ["/v1/%zz", "malformed percent-encoding in path"],
    ["*", "path must start with /"],
    ["", "path must start with /"],
    ["?x", "path must start with /"],
    ["v1/tokens", "path must start with /"],
    ["http://evil/v1/tokens", "path must start with /"],
  ])("refuses %j (%s)", (path, reason) => {
    expect(canonical(path)).toBe(`!${reason}`);
    expect(evaluate("GET", path, ["model:read", "model:invoke"])).toBe(`badpath:${reason}`);
  });

  it("accepts names that merely contain dots", () => {
    expect(canonical("/v1/models/iris.v2/...")).toBe("/v1/models/iris.v2/...");
    expect(canonical("/.well-known/x")).toBe("/.well-known/x");
  });
});

describe("route fuzz", () => {
  const pieces = [
    "v1", "models", "tokens", "healthz", "modelsfoo", "x", "", ".", "..", "...", "%2e", "%2E", ".%2e", "%2e%2e", "%2f", "%2F",
    "%5c", "\\", "%74okens", "tok%65ns", "%", "%7", "%zz", "%41", "..;", ";", "%3b", "%00", "%25", "%252e", "a b", "é",
    "?", "#", "?/../tokens", "#/../tokens", "%3f", "%23", "~", "%7e", "\t", "\u0000", "\ud800", "%C3%A9", "models%2F..%2Ftokens",
  ];
  const pick = <T>(next: () => number, xs: T[]) => xs[Math.floor(next() * xs.length)]!;
  const randomPath = (next: () => number) => {
    // Mostly near real routes, so that both the accepted and the attack paths are frequent.
    const head = next() < 0.7 ? ["v1", pick(next, ["models", "tokens", "%74okens", "tok%65ns", "models", "x"])] : [];
    const n = Math.floor(next() * 5);
    const segs = [...head, ...Array.from({ length: n }, () => pick(next, pieces))];
    const lead = next() < 0.95 ? "/" : ["", "//", "*", "http://h/"][Math.floor(next() * 4)]!;
    return lead + segs.join(next() < 0.9 ? "/" : "//");
  };
  // What the server routes on: @hono/node-server resolves the target with WHATWG URL, then Hono
  // percent-decodes it. Decoding every escape byte-for-byte keeps the comparison strict.
  const upstreamPath = (raw: string) => {
    const pathname = new URL(`http://h${raw}`).pathname;
    return pathname.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  };
  const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

  it("20,000 random paths: no abort; accepted paths mean the same upstream; /v1/tokens is never reached without token:manage", () => {
    setRules([
      { prefix: "/healthz", public: true },
      { prefix: "/v1/models", anyRole: ["model:read"] },
      { prefix: "/v1/tokens", anyRole: ["token:manage"] },
      { prefix: "/", anyRole: ["model:read"] },
    ]);
    const next = rng(99);
    let accepted = 0;
    let tokenPaths = 0;
    let acceptedTokenPaths = 0;
    let disguised = 0; // the upstream would reach /v1/tokens, though the raw path does not say so
    for (let i = 0; i < 20_000; i++) {
      const raw = randomPath(next);
      const canon = canonical(raw);
      const got = evaluate("GET", raw, ["model:read"]);
      const ctx = `case ${i}: ${JSON.stringify(raw)} → ${got}`;
      let upstream: string | undefined;
      try {
        upstream = upstreamPath(raw.replace(/[?#].*$/s, ""));
      } catch {
        // Not a URL the server would accept at all.
      }
      if (upstream !== undefined && under(upstream, "/v1/tokens")) {
        tokenPaths++;
        expect(got, ctx).toMatch(/^(badpath:|denied#2:missing role: one of token:manage$)/);
        if (!under(canon, "/v1/tokens")) disguised++;
      }
      if (canon.startsWith("!")) {
        expect(got, ctx).toBe(`badpath:${canon.slice(1)}`);
        continue;
      }
      accepted++;
      // Nothing the upstream would resolve differently got through.
      expect(canon.split("/").slice(1, -1), ctx).not.toContain("");
      expect(canon.split("/"), ctx).not.toContain(".");
      expect(canon.split("/"), ctx).not.toContain("..");
      expect(upstream, ctx).toBe(canon);
      if (under(canon, "/v1/tokens")) acceptedTokenPaths++;
    }
    expect(accepted).toBeGreaterThan(2000);
    expect(tokenPaths).toBeGreaterThan(2000);
    expect(acceptedTokenPaths).toBeGreaterThan(500);
    expect(disguised).toBeGreaterThan(200);
  });

  it("20,000 random strings of path characters: no abort", () => {
    const alphabet = "/.%2eEfF5cC;?#\\az09~-_ \u0000\u00e9\ud800";
    const next = rng(5);
    for (let i = 0; i < 20_000; i++) {
      const len = Math.floor(next() * 30);
      let s = next() < 0.8 ? "/" : "";
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(next() * alphabet.length)]!;
      const got = evaluate(["GET", "POST", "", "get", "\u0000"][i % 5]!, s, ["model:read"]);
      expect(got, JSON.stringify(s)).toMatch(/^(badpath:|nomatch$|public#0$|allowed#[13]$|denied#2:)/);
    }
  });
});
