import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ASUtil } from "@assemblyscript/loader";
import { Ajv2020 } from "ajv/dist/2020.js";
import { loadEntry } from "./asc.ts";
import { rng, withBuffers, withStrings } from "./wasm-values.ts";
import { acceptableJson, jsParse, mutateText } from "./json-oracle.ts";
import { devFilterConfig } from "../../envoy/filter-config.ts";

type Exports = {
  parse(json: number): number;
  parseBytes(buf: number): number;
};

let mod: ASUtil & Exports;
beforeAll(async () => {
  mod = await loadEntry<Exports>("filter-wasm/test/entries/config.ts");
});

const schema = JSON.parse(readFileSync(fileURLToPath(new URL("../config.schema.json", import.meta.url)), "utf8")) as object;
// strictRequired is off: it rejects `required` naming properties declared outside the subschema, as
// the oneOf and if/then of a rule do.
const validate = new Ajv2020({ strict: true, strictRequired: false }).compile(schema);

const parseText = (json: string) => withStrings(mod, [json], ([p]) => mod.__getString(mod.parse(p!)));
const parseBytes = (b: Uint8Array) => withBuffers(mod, [b], ([p]) => mod.__getString(mod.parseBytes(p!)));
const parse = (config: unknown) => parseText(JSON.stringify(config));
const parsedConfig = (config: unknown) => {
  const out = parse(config);
  expect(out.startsWith("ok "), out).toBe(true);
  return JSON.parse(out.slice(3)) as Record<string, unknown>;
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const clone = <T>(v: T): T => structuredClone(v);

/** The sketch from ARCHITECTURE.md, with its placeholders filled in. */
const SKETCH = {
  issuers: {
    keycloak: {
      cluster: "keycloak", authority: "keycloak:8080",
      introspection_path: "/realms/altgate/protocol/openid-connect/token/introspect",
      client_id: "altgate-gateway", client_secret: "s3cr3t-gateway", timeout_ms: 1500,
    },
    api_tokens: {
      cluster: "altgate-server", authority: "altgate-server", introspection_path: "/internal/v1/introspect", token_prefix: "agt_",
    },
  },
  revocations: { cluster: "altgate-server", authority: "altgate-server", path: "/internal/v1/revocations", poll_ms: 500 },
  cache: { positive_ttl_s: 60, negative_ttl_s: 5, max_entries: 20000 },
  rules: [
    { prefix: "/healthz", public: true },
    { prefix: "/v1/models", methods: ["GET"], any_role: ["model:read", "model:invoke"] },
    { prefix: "/v1/models", methods: ["POST"], any_role: ["model:invoke"] },
    { prefix: "/v1/tokens", any_role: ["token:manage"] },
  ],
  identity: { header_prefix: "x-altgate-", strip_authorization: true, hmac_key: "0123456789abcdef0123456789abcdef" },
  on_issuer_failure: "deny",
} satisfies Json;

const MINIMAL = {
  issuers: { api_tokens: { cluster: "server", authority: "server:8080", introspection_path: "/introspect" } },
} satisfies Json;

describe("config: reading valid configurations", () => {
  it("reads the architecture sketch, rules in order", () => {
    expect(parsedConfig(SKETCH)).toEqual({
      keycloak: {
        cluster: "keycloak", authority: "keycloak:8080", introspectionPath: "/realms/altgate/protocol/openid-connect/token/introspect",
        clientId: "altgate-gateway", clientSecret: "s3cr3t-gateway", timeoutMs: 1500, issuer: "", audience: "",
      },
      apiTokens: {
        cluster: "altgate-server", authority: "altgate-server", introspectionPath: "/internal/v1/introspect", tokenPrefix: "agt_",
        clientId: "", clientSecret: "", timeoutMs: 1500,
      },
      revocations: { cluster: "altgate-server", authority: "altgate-server", path: "/internal/v1/revocations", pollMs: 500, timeoutMs: 1000 },
      cache: { positiveTtlS: 60, negativeTtlS: 5, maxEntries: 20000 },
      rules: [
        { prefix: "/healthz", exact: "", methods: [], public: true, anyRole: [], allRoles: [], scopes: [] },
        { prefix: "/v1/models", exact: "", methods: ["GET"], public: false, anyRole: ["model:read", "model:invoke"], allRoles: [], scopes: [] },
        { prefix: "/v1/models", exact: "", methods: ["POST"], public: false, anyRole: ["model:invoke"], allRoles: [], scopes: [] },
        { prefix: "/v1/tokens", exact: "", methods: [], public: false, anyRole: ["token:manage"], allRoles: [], scopes: [] },
      ],
      identity: { headerPrefix: "x-altgate-", stripAuthorization: true, hmacKey: "0123456789abcdef0123456789abcdef" },
      defaultAllow: false,
    });
  });

  it("fills in defaults for everything optional", () => {
    expect(parsedConfig(MINIMAL)).toEqual({
      keycloak: null,
      apiTokens: { cluster: "server", authority: "server:8080", introspectionPath: "/introspect", tokenPrefix: "agt_", clientId: "", clientSecret: "", timeoutMs: 1500 },
      revocations: null,
      cache: { positiveTtlS: 60, negativeTtlS: 5, maxEntries: 10000 },
      rules: [],
      identity: { headerPrefix: "x-altgate-", stripAuthorization: true, hmacKey: "" },
      defaultAllow: false,
    });
  });

  it("reads every optional field when given", () => {
    const c = parsedConfig({
      issuers: {
        keycloak: { ...SKETCH.issuers.keycloak, timeout_ms: 250, issuer: "http://keycloak:8080/realms/altgate", audience: "altgate-api" },
        api_tokens: { ...SKETCH.issuers.api_tokens, token_prefix: "tok-", client_id: "gw", client_secret: "pw", timeout_ms: 99 },
      },
      revocations: { ...SKETCH.revocations, poll_ms: 100, timeout_ms: 60000 },
      cache: { positive_ttl_s: 0, negative_ttl_s: 3600, max_entries: 1 },
      rules: [{ exact: "/v1/models/iris/infer", methods: ["POST", "PUT"], all_roles: ["a", "b"], scopes: ["models"] }, { prefix: "/" }],
      identity: { header_prefix: "x-gw-", strip_authorization: false },
      default_action: "allow",
    });
    expect(c.keycloak).toMatchObject({ timeoutMs: 250, issuer: "http://keycloak:8080/realms/altgate", audience: "altgate-api" });
    expect(c.apiTokens).toMatchObject({ tokenPrefix: "tok-", clientId: "gw", clientSecret: "pw", timeoutMs: 99 });
    expect(c.revocations).toMatchObject({ pollMs: 100, timeoutMs: 60000 });
    expect(c.cache).toEqual({ positiveTtlS: 0, negativeTtlS: 3600, maxEntries: 1 });
    expect(c.rules).toEqual([
      { prefix: "", exact: "/v1/models/iris/infer", methods: ["POST", "PUT"], public: false, anyRole: [], allRoles: ["a", "b"], scopes: ["models"] },
      { prefix: "/", exact: "", methods: [], public: false, anyRole: [], allRoles: [], scopes: [] },
    ]);
    expect(c.identity).toEqual({ headerPrefix: "x-gw-", stripAuthorization: false, hmacKey: "" });
    expect(c.defaultAllow).toBe(true);
  });

  it("reads integers written as 6e1 or 60.0, as JSON Schema does", () => {
    expect(parsedConfig(JSON.parse(JSON.stringify(MINIMAL).replace(/}$/, ',"cache":{"positive_ttl_s":6e1}}'))).cache).toMatchObject({ positiveTtlS: 60 });
    expect(parseText(JSON.stringify(MINIMAL).replace(/}$/, ',"cache":{"positive_ttl_s":60.0}}'))).toMatch(/^ok .*"positiveTtlS":60,/);
  });
});

/** Returns a copy of SKETCH changed by `edit`. */
function sketchWith(edit: (c: Record<string, any>) => void): Json {
  const c = clone(SKETCH) as Record<string, any>;
  edit(c);
  return c as Json;
}

describe("config: every error names the field path", () => {
  const cases: [string, Json | string, string][] = [
    ["not JSON", "{", "configuration: invalid JSON at offset 1: unterminated object"],
    ["not an object", "[]", "configuration: must be an object"],
    ["unknown top-level field", sketchWith((c) => (c.extra = 1)), "extra: unknown field"],
    ["missing issuers", sketchWith((c) => delete c.issuers), "issuers: is required"],
    ["no issuer", sketchWith((c) => (c.issuers = {})), "issuers: at least one of keycloak or api_tokens is required"],
    ["unknown issuer", sketchWith((c) => (c.issuers.github = {})), "issuers.github: unknown field"],
    ["unknown field with a line break", sketchWith((c) => (c.cache["ttl\n\u00e9"] = 1)), "cache.ttl??: unknown field"],
    ["long unknown field", sketchWith((c) => (c["k".repeat(100)] = 1)), "k".repeat(64) + "...: unknown field"],
    ["keycloak not an object", sketchWith((c) => (c.issuers.keycloak = "keycloak")), "issuers.keycloak: must be an object"],
    ["missing client_secret", sketchWith((c) => delete c.issuers.keycloak.client_secret), "issuers.keycloak.client_secret: is required"],
    ["misspelt field", sketchWith((c) => (c.issuers.keycloak.timeout = 5)), "issuers.keycloak.timeout: unknown field"],
    [
      "cluster with a space", sketchWith((c) => (c.issuers.keycloak.cluster = "key cloak")),
      "issuers.keycloak.cluster: must be a string of 1 to 256 characters: printable ASCII without spaces",
    ],
    ["empty cluster", sketchWith((c) => (c.issuers.keycloak.cluster = "")), "issuers.keycloak.cluster: must be a string of 1 to 256 characters: printable ASCII without spaces"],
    [
      "relative introspection path", sketchWith((c) => (c.issuers.keycloak.introspection_path = "introspect")),
      "issuers.keycloak.introspection_path: must be a string of 1 to 1024 characters: a path starting with '/', printable ASCII without spaces, '?' or '#'",
    ],
    ["timeout 0", sketchWith((c) => (c.issuers.keycloak.timeout_ms = 0)), "issuers.keycloak.timeout_ms: must be an integer between 1 and 60000"],
    ["timeout as string", sketchWith((c) => (c.issuers.keycloak.timeout_ms = "1500")), "issuers.keycloak.timeout_ms: must be an integer between 1 and 60000"],
    ["client_id without secret", sketchWith((c) => (c.issuers.api_tokens.client_id = "gw")), "issuers.api_tokens.client_secret: is required"],
    ["client_secret without id", sketchWith((c) => (c.issuers.api_tokens.client_secret = "pw")), "issuers.api_tokens.client_id: is required"],
    [
      "token prefix with a dot", sketchWith((c) => (c.issuers.api_tokens.token_prefix = "agt.")),
      "issuers.api_tokens.token_prefix: must be a string of 1 to 32 characters: letters, digits, '_' and '-'",
    ],
    ["poll too fast", sketchWith((c) => (c.revocations.poll_ms = 99)), "revocations.poll_ms: must be an integer between 100 and 60000"],
    ["revocation path missing", sketchWith((c) => delete c.revocations.path), "revocations.path: is required"],
    ["cache ttl fractional", sketchWith((c) => (c.cache.positive_ttl_s = 1.5)), "cache.positive_ttl_s: must be an integer between 0 and 86400"],
    ["cache ttl too long", sketchWith((c) => (c.cache.positive_ttl_s = 86401)), "cache.positive_ttl_s: must be an integer between 0 and 86400"],
    ["cache ttl negative", sketchWith((c) => (c.cache.negative_ttl_s = -1)), "cache.negative_ttl_s: must be an integer between 0 and 3600"],
    ["cache size 0", sketchWith((c) => (c.cache.max_entries = 0)), "cache.max_entries: must be an integer between 1 and 1000000"],
    ["rules not an array", sketchWith((c) => (c.rules = {})), "rules: must be an array of at most 1000 rules"],
    ["rule not an object", sketchWith((c) => (c.rules[2] = "/v1")), "rules[2]: must be an object"],
    ["rule without path", sketchWith((c) => delete c.rules[1].prefix), "rules[1]: exactly one of prefix or exact is required"],
    ["rule with both paths", sketchWith((c) => (c.rules[1].exact = "/v1/models")), "rules[1]: exactly one of prefix or exact is required"],
    ["rule with unknown field", sketchWith((c) => (c.rules[3].roles = ["a"])), "rules[3].roles: unknown field"],
    ["rule path with query", sketchWith((c) => (c.rules[0].prefix = "/healthz?x")), "rules[0].prefix: must be a string of 1 to 1024 characters: a path starting with '/', printable ASCII without spaces, '?' or '#'"],
    ["lower-case method", sketchWith((c) => (c.rules[1].methods = ["get"])), "rules[1].methods[0]: must be a string of 1 to 32 characters: upper-case letters"],
    ["duplicate method", sketchWith((c) => (c.rules[1].methods = ["GET", "HEAD", "GET"])), "rules[1].methods[2]: duplicate entry"],
    ["empty role list", sketchWith((c) => (c.rules[1].any_role = [])), "rules[1].any_role: must be an array of 1 to 64 strings"],
    ["role as a string", sketchWith((c) => (c.rules[1].any_role = "model:read")), "rules[1].any_role: must be an array of 1 to 64 strings"],
    [
      "role with a comma", sketchWith((c) => (c.rules[3].any_role = ["token:manage", "a,b"])),
      "rules[3].any_role[1]: must be a string of 1 to 256 characters: printable ASCII without spaces or commas",
    ],
    ["scope not a string", sketchWith((c) => (c.rules[3].scopes = [1])), "rules[3].scopes[0]: must be a string of 1 to 256 characters: printable ASCII without spaces or commas"],
    ["public rule with roles", sketchWith((c) => (c.rules[0].any_role = ["admin"])), "rules[0]: a public rule cannot require roles or scopes"],
    ["public not a boolean", sketchWith((c) => (c.rules[0].public = "yes")), "rules[0].public: must be a boolean"],
    ["header prefix upper-case", sketchWith((c) => (c.identity.header_prefix = "X-Altgate-")), "identity.header_prefix: must be a string of 1 to 64 characters: lower-case letters, digits and '-', starting with a letter"],
    ["short hmac key", sketchWith((c) => (c.identity.hmac_key = "short")), "identity.hmac_key: must be a string of 32 to 1024 characters: printable ASCII without spaces"],
    ["strip not a boolean", sketchWith((c) => (c.identity.strip_authorization = 1)), "identity.strip_authorization: must be a boolean"],
    ["fail open", sketchWith((c) => (c.on_issuer_failure = "allow")), 'on_issuer_failure: must be one of "deny"'],
    ["default action typo", sketchWith((c) => (c.default_action = "Allow")), 'default_action: must be one of "deny", "allow"'],
    ["duplicate key", JSON.stringify(SKETCH).replace('"cache":', '"rules":[],"cache":'), "configuration: invalid JSON at offset"],
  ];
  for (const [name, config, error] of cases) {
    it(name, () => {
      const out = typeof config === "string" ? parseText(config) : parse(config);
      expect(out).toContain("error " + error);
      if (!error.includes("offset")) expect(out).toBe("error " + error);
    });
  }

  it("reports configuration bytes that are not UTF-8, or too long", () => {
    const bytes = new TextEncoder().encode(JSON.stringify(SKETCH));
    expect(parseBytes(bytes)).toMatch(/^ok /);
    const bad = Uint8Array.from([...bytes.slice(0, 10), 0xc0, 0xa2, ...bytes.slice(10)]);
    expect(parseBytes(bad)).toBe("error configuration: invalid UTF-8 at byte 10");
    expect(parseBytes(Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes]))).toBe("error configuration: invalid JSON at offset 0: unexpected character");
    expect(parseBytes(new Uint8Array((1 << 20) + 1).fill(0x20))).toBe("error configuration: longer than 1048576 bytes");
  });
});

/** Configurations both sides must accept, and both must refuse. */
const VALID: Json[] = [
  SKETCH,
  MINIMAL,
  { issuers: { keycloak: SKETCH.issuers.keycloak } },
  sketchWith((c) => (c.rules = [])),
  sketchWith((c) => delete c.revocations),
  sketchWith((c) => (c.rules[0].public = false)),
  sketchWith((c) => (c.rules[1].public = false)),
  sketchWith((c) => (c.rules = [{ exact: "/" }, { prefix: "/a", methods: ["GET"], all_roles: ["x"], any_role: ["y"], scopes: ["z"] }])),
  sketchWith((c) => (c.issuers.api_tokens = { ...c.issuers.api_tokens, client_id: "a", client_secret: "b" })),
  sketchWith((c) => (c.identity = {})),
  sketchWith((c) => (c.cache = {})),
  sketchWith((c) => (c.default_action = "allow")),
  sketchWith((c) => (c.issuers.keycloak.introspection_path = "/")),
  sketchWith((c) => (c.issuers.keycloak.client_secret = "!\"$%&'()*+,-./:;<=>?@[\\]^_`{|}~")),
  sketchWith((c) => (c.rules[1].any_role = ["!", "~", "a:b:c", "role/with/slash"])),
  sketchWith((c) => (c.rules[1].prefix = "/a!\"$%&'()*+,-./:;<=>@[\\]^_`{|}~")),
  sketchWith((c) => (c.identity.hmac_key = "k".repeat(1024))),
  sketchWith((c) => (c.issuers.keycloak.cluster = "c".repeat(256))),
  sketchWith((c) => (c.rules = Array.from({ length: 1000 }, (_, i) => ({ prefix: `/r${i}` })))),
  sketchWith((c) => (c.rules[1].methods = Array.from({ length: 16 }, (_, i) => "M" + String.fromCharCode(65 + i)))),
];

const INVALID: Json[] = [
  null, 1, "config", [], {},
  sketchWith((c) => (c.issuers.keycloak.cluster = "c".repeat(257))),
  sketchWith((c) => (c.identity.hmac_key = "k".repeat(1025))),
  sketchWith((c) => (c.identity.hmac_key = "k".repeat(31))),
  sketchWith((c) => (c.rules = Array.from({ length: 1001 }, (_, i) => ({ prefix: `/r${i}` })))),
  sketchWith((c) => (c.rules[1].methods = Array.from({ length: 17 }, (_, i) => "M" + String.fromCharCode(65 + i)))),
  sketchWith((c) => (c.rules[1].any_role = Array.from({ length: 65 }, (_, i) => `r${i}`))),
  sketchWith((c) => (c.rules[1].any_role = ["é"])),
  sketchWith((c) => (c.rules[1].any_role = ["a b"])),
  sketchWith((c) => (c.rules[1].prefix = "/a b")),
  sketchWith((c) => (c.rules[1].prefix = "/a#b")),
  sketchWith((c) => (c.rules[0].scopes = ["s"])),
  sketchWith((c) => (c.rules[0].all_roles = ["s"])),
  sketchWith((c) => (c.rules[0].public = null)),
  sketchWith((c) => (c.issuers.keycloak.issuer = null)),
  sketchWith((c) => (c.issuers.keycloak.issuer = "")),
  sketchWith((c) => (c.issuers.keycloak.audience = "a b")),
  sketchWith((c) => (c.cache.max_entries = 1000001)),
  sketchWith((c) => (c.cache.max_entries = 1e999)),
  sketchWith((c) => (c.revocations.timeout_ms = 0)),
  sketchWith((c) => (c.identity.header_prefix = "1x")),
  sketchWith((c) => (c.identity.header_prefix = "")),
  sketchWith((c) => (c.issuers.api_tokens.token_prefix = "")),
  sketchWith((c) => (c.issuers.api_tokens.token_prefix = "t".repeat(33))),
  sketchWith((c) => (c.on_issuer_failure = null)),
];

const ajvValid = (config: unknown) => validate(config) as boolean;

describe("config: config.ts and config.schema.json agree", () => {
  it("on hand-picked valid configurations", () => {
    for (const [i, config] of VALID.entries()) {
      expect(parse(config), `VALID[${i}]`).toMatch(/^ok /);
      expect(ajvValid(config), `VALID[${i}]: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it("on the local stack's configuration (envoy/filter-config.ts), issuers, feed and all", () => {
    const config = devFilterConfig({ keycloakAuthority: "127.0.0.1:8080", realm: "altgate", issuer: "http://127.0.0.1:8080/realms/altgate" });
    expect(ajvValid(config), JSON.stringify(validate.errors)).toBe(true);
    const c = parsedConfig(config);
    expect(c.apiTokens).toEqual({
      cluster: "altgate-server", authority: "altgate-server", introspectionPath: "/internal/v1/introspect", tokenPrefix: "agt_",
      clientId: "altgate-gateway", clientSecret: "introspection-dev-secret", timeoutMs: 1500,
    });
    expect(c.revocations).toEqual({ cluster: "altgate-server", authority: "altgate-server", path: "/internal/v1/revocations", pollMs: 250, timeoutMs: 1000 });
  });

  it("on hand-picked invalid configurations", () => {
    for (const [i, config] of INVALID.entries()) {
      expect(parse(config), `INVALID[${i}]`).toMatch(/^error /);
      expect(ajvValid(config), `INVALID[${i}]`).toBe(false);
    }
  });

  const FIELDS = [
    "issuers", "keycloak", "api_tokens", "cluster", "authority", "introspection_path", "client_id", "client_secret", "timeout_ms",
    "issuer", "audience", "token_prefix", "revocations", "path", "poll_ms", "cache", "positive_ttl_s", "negative_ttl_s",
    "max_entries", "rules", "prefix", "exact", "methods", "public", "any_role", "all_roles", "scopes", "identity", "header_prefix",
    "strip_authorization", "hmac_key", "on_issuer_failure", "default_action", "unknown",
  ];
  const VALUES: Json[] = [
    "", "x", "keycloak:8080", "/", "/path", "/p?q", "/a#b", "no-slash", "has space", "a,b", "GET", "get", "x-altgate-", "X-Bad",
    "agt_", "é", "a".repeat(256), "a".repeat(257), "/" + "a".repeat(1023), "/" + "a".repeat(1024), "k".repeat(32), "k".repeat(31),
    0, -1, 1, 99, 100, 1500, 60000, 60001, 86400, 86401, 3600, 3601, 1000000, 1000001, 1.5, -0.5, 1e21, true, false, null,
    [], ["GET"], ["GET", "GET"], ["POST", "GET"], ["model:read"], ["a,b"], [1], [null], {}, { k: 1 }, { prefix: "/x" }, "deny", "allow", "Deny",
  ];

  /** Replaces, removes or adds one member or element somewhere in `root`. */
  function mutate(next: () => number, root: Json): Json {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const containers: (Json[] | { [key: string]: Json })[] = [];
    const walk = (v: Json) => {
      if (v !== null && typeof v === "object") {
        containers.push(v);
        for (const e of Object.values(v)) walk(e);
      }
    };
    walk(root);
    const target = pick(containers);
    const r = next();
    if (Array.isArray(target)) {
      if (r < 0.3 && target.length > 0) target.splice(Math.floor(next() * target.length), 1);
      else if (r < 0.5 && target.length > 0) target.push(clone(pick(target)));
      else if (target.length > 0) target[Math.floor(next() * target.length)] = clone(pick(VALUES));
      else target.push(clone(pick(VALUES)));
    } else {
      const keys = Object.keys(target);
      if (r < 0.3 && keys.length > 0) delete target[pick(keys)];
      else if (r < 0.7 && keys.length > 0) target[pick(keys)] = clone(pick(VALUES));
      else target[pick(FIELDS)] = clone(pick(VALUES));
    }
    return root;
  }

  it("on 20,000 structurally mutated configurations", () => {
    const next = rng(2020);
    const bases = [...VALID.slice(0, 12)];
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      let config: Json = clone(bases[Math.floor(next() * bases.length)] ?? null);
      const edits = 1 + Math.floor(next() * 2);
      for (let e = 0; e < edits; e++) config = mutate(next, config);
      const out = parse(config);
      const want = ajvValid(config);
      expect(out.startsWith("ok "), `case ${i}: ${JSON.stringify(config)} -> ${out}; ajv: ${JSON.stringify(validate.errors)}`).toBe(want);
      if (want) valid++;
    }
    expect(valid).toBeGreaterThan(2_000);
    expect(valid).toBeLessThan(18_000);
  });

  it("on 10,000 configurations mutated as text: no abort, and JSON the filter must refuse is refused", () => {
    const next = rng(8259);
    let compared = 0;
    for (let i = 0; i < 10_000; i++) {
      const base = JSON.stringify(VALID[Math.floor(next() * 12)], null, next() < 0.5 ? 2 : undefined);
      const text = mutateText(next, base);
      const out = parseText(text);
      const json = acceptableJson(text, 16, 1 << 20);
      const label = `case ${i}: ${JSON.stringify(text)} -> ${out}`;
      if (json) {
        expect(out.startsWith("ok "), label).toBe(ajvValid(json.value));
        compared++;
      } else {
        expect(out, label).toMatch(/^error configuration: /);
      }
      if (!jsParse(text)) expect(out, label).toMatch(/^error configuration: invalid JSON at offset \d+: /);
    }
    expect(compared).toBeGreaterThan(1_000);
  });
});
