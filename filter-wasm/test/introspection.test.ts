import { beforeAll, describe, expect, it } from "vitest";
import type { ASUtil } from "@assemblyscript/loader";
import { loadEntry } from "./asc.ts";
import { rng, withBuffers, withStrings } from "./wasm-values.ts";
import { depthOf, hasDuplicateKeys, jsParse, mutateText, randomString } from "./json-oracle.ts";

type Exports = {
  parse(body: number, roleClient: number): number;
  parseBytes(body: number, roleClient: number): number;
  check(body: number, roleClient: number, nowS: bigint, issuer: number, audience: number): number;
  checkBytes(body: number, roleClient: number, nowS: bigint, issuer: number, audience: number): number;
  requestBody(token: number): number;
  urlencode(s: number): number;
  basic(clientId: number, clientSecret: number): number;
};

let mod: ASUtil & Exports;
beforeAll(async () => {
  mod = await loadEntry<Exports>("filter-wasm/test/entries/introspection.ts");
});

type Identity = {
  active: boolean; error: string; sub: string; username: string; clientId: string; azp: string; iss: string; aud: string[];
  exp: number; nbf: number; iat: number; jti: string; scopes: string[]; roles: string[];
};

const NOW = 1_700_000_000;
const ISSUER = "http://keycloak:8080/realms/altgate";
const AUDIENCE = "altgate-api";

const parse = (body: string | object, roleClient = AUDIENCE): Identity =>
  withStrings(mod, [typeof body === "string" ? body : JSON.stringify(body), roleClient], ([b, r]) =>
    JSON.parse(mod.__getString(mod.parse(b!, r!))) as Identity,
  );
const parseBytes = (body: Uint8Array, roleClient = AUDIENCE): Identity => {
  const out = withBuffers(mod, [body], ([b]) => withStrings(mod, [roleClient], ([r]) => mod.__getString(mod.parseBytes(b!, r!))));
  return JSON.parse(out) as Identity;
};
const check = (body: string | object, now = NOW, issuer = ISSUER, audience = AUDIENCE, roleClient = audience) =>
  withStrings(mod, [typeof body === "string" ? body : JSON.stringify(body), roleClient, issuer, audience], ([b, r, i, a]) =>
    mod.__getString(mod.check(b!, r!, BigInt(now), i!, a!)),
  );
const checkBytes = (body: Uint8Array, now = NOW, issuer = ISSUER, audience = AUDIENCE) =>
  withBuffers(mod, [body], ([b]) =>
    withStrings(mod, [audience, issuer, audience], ([r, i, a]) => mod.__getString(mod.checkBytes(b!, r!, BigInt(now), i!, a!))),
  );
const str = (fn: (p: number) => number, s: string) => withStrings(mod, [s], ([p]) => mod.__getString(fn(p!)));

/** A Keycloak 26 introspection response for a portal-issued access token. */
const KEYCLOAK = {
  exp: NOW + 300, iat: NOW - 10, nbf: NOW - 10, jti: "onrtac:5b1e2c9d", iss: ISSUER, aud: [AUDIENCE, "account"],
  sub: "f1c27a3e-8d1b-4c2a-9a0e-0b6f1d2e3c4b", typ: "Bearer", azp: "altgate-portal", sid: "9a8b7c6d", acr: "1",
  "allowed-origins": ["http://localhost:5173"],
  realm_access: { roles: ["default-roles-altgate", "offline_access", "uma_authorization", "model:read"] },
  resource_access: { [AUDIENCE]: { roles: ["model:invoke", "model:read"] }, account: { roles: ["manage-account", "view-profile"] } },
  scope: "openid profile email", email_verified: true, name: "Alice Example", preferred_username: "alice",
  given_name: "Alice", family_name: "Example", email: "alice@example.test", client_id: "altgate-portal", username: "alice-login",
  token_type: "Bearer", active: true,
};
const withClaims = (changes: Record<string, unknown>, drop: string[] = []) => {
  const body: Record<string, unknown> = { ...KEYCLOAK, ...changes };
  for (const k of drop) delete body[k];
  return body;
};

describe("introspection response: reading", () => {
  it("reads a Keycloak response", () => {
    expect(parse(KEYCLOAK)).toEqual({
      active: true, error: "", sub: KEYCLOAK.sub, username: "alice", clientId: "altgate-portal", azp: "altgate-portal", iss: ISSUER,
      aud: [AUDIENCE, "account"], exp: NOW + 300, nbf: NOW - 10, iat: NOW - 10, jti: "onrtac:5b1e2c9d",
      scopes: ["openid", "profile", "email"],
      // Realm roles, then the audience client's roles; no duplicates, and nothing from "account".
      roles: ["default-roles-altgate", "offline_access", "uma_authorization", "model:read", "model:invoke"],
    });
  });

  it("takes no client roles without a role client, and only the role client's", () => {
    expect(parse(KEYCLOAK, "").roles).toEqual(["default-roles-altgate", "offline_access", "uma_authorization", "model:read"]);
    expect(parse(KEYCLOAK, "account").roles).toContain("manage-account");
    expect(parse(KEYCLOAK, "account").roles).not.toContain("model:invoke");
    expect(parse(withClaims({}, ["realm_access", "resource_access"])).roles).toEqual([]);
  });

  it("falls back to username and azp, reads a single-string aud, splits scope", () => {
    const id = parse(withClaims({ aud: AUDIENCE, scope: "  a  b a  models:read " }, ["preferred_username", "client_id"]));
    expect(id.username).toBe("alice-login");
    expect(id.clientId).toBe("altgate-portal");
    expect(id.aud).toEqual([AUDIENCE]);
    expect(id.scopes).toEqual(["a", "b", "models:read"]);
  });

  it("drops roles and scopes that cannot travel in a list header", () => {
    const id = parse(withClaims({ realm_access: { roles: ["ok", "a,b", "with space", "", "tab\t", "é", "ok"] }, scope: "x y,z" }));
    expect(id.roles).toEqual(["ok", "model:invoke", "model:read"]);
    expect(id.scopes).toEqual(["x"]);
  });

  it("an inactive token is inactive whatever else it says", () => {
    for (const body of [{ active: false }, { ...KEYCLOAK, active: false }]) {
      const id = parse(body);
      expect(id.active).toBe(false);
      expect(id.error).toBe("");
      expect(id.sub).toBe("");
      expect(check(body)).toBe("active: token is not active");
    }
  });

  const broken: [string, string | object, string][] = [
    ["empty body", "", "introspection response: invalid JSON at offset 0: unexpected end of input"],
    ["HTML error page", "<html>502</html>", "introspection response: invalid JSON at offset 0: unexpected character"],
    ["truncated", JSON.stringify(KEYCLOAK).slice(0, 100), "introspection response: invalid JSON at offset 100: unterminated string"],
    ["array", [KEYCLOAK], "introspection response: not a JSON object"],
    ["string", '"active"', "introspection response: not a JSON object"],
    ["no active", withClaims({}, ["active"]), "active: missing"],
    ["active as string", withClaims({ active: "true" }), "active: must be a boolean"],
    ["active as number", withClaims({ active: 1 }), "active: must be a boolean"],
    ["active null", withClaims({ active: null }), "active: must be a boolean"],
    ["active twice", '{"active":false,"active":true,"sub":"x","exp":9999999999}', "introspection response: invalid JSON at offset 16: duplicate member name"],
    ["exp as string", withClaims({ exp: String(NOW + 300) }), "exp: must be a NumericDate"],
    ["exp negative", withClaims({ exp: -1 }), "exp: must be a NumericDate"],
    ["exp huge", withClaims({ exp: 1e300 }), "exp: must be a NumericDate"],
    ["exp infinite", '{"active":true,"sub":"x","exp":1e999}', "exp: must be a NumericDate"],
    ["nbf bool", withClaims({ nbf: true }), "nbf: must be a NumericDate"],
    ["iat null", withClaims({ iat: null }), "iat: must be a NumericDate"],
    ["sub number", withClaims({ sub: 42 }), "sub: must be a string"],
    ["sub with newline", withClaims({ sub: "alice\r\nx-altgate-roles: admin" }), "sub: contains control characters"],
    ["username with C1 control", withClaims({ preferred_username: "al\u0085ice" }), "preferred_username: contains control characters"],
    ["username with DEL", withClaims({ preferred_username: "al\u007fice" }), "preferred_username: contains control characters"],
    ["client_id object", withClaims({ client_id: {} }), "client_id: must be a string"],
    ["iss array", withClaims({ iss: [ISSUER] }), "iss: must be a string"],
    ["jti number", withClaims({ jti: 7 }), "jti: must be a string"],
    ["aud number", withClaims({ aud: 1 }), "aud: must be a string or an array of strings"],
    ["aud with a number", withClaims({ aud: [AUDIENCE, 1] }), "aud: must be a string or an array of strings"],
    ["scope array", withClaims({ scope: ["openid"] }), "scope: must be a string"],
    ["realm_access array", withClaims({ realm_access: ["admin"] }), "realm_access: must be an object"],
    ["realm roles string", withClaims({ realm_access: { roles: "admin" } }), "realm_access.roles: must be an array of strings"],
    ["realm roles nested", withClaims({ realm_access: { roles: [["admin"]] } }), "realm_access.roles: must be an array of strings"],
    ["resource_access string", withClaims({ resource_access: "x" }), "resource_access: must be an object"],
    ["client entry not object", withClaims({ resource_access: { [AUDIENCE]: ["model:invoke"] } }), `resource_access.${AUDIENCE}: must be an object`],
    ["client roles null", withClaims({ resource_access: { [AUDIENCE]: { roles: null } } }), `resource_access.${AUDIENCE}.roles: must be an array of strings`],
  ];
  for (const [name, body, error] of broken) {
    it(`refuses ${name}`, () => {
      const id = parse(body);
      expect(id.active).toBe(false);
      expect(id.error).toBe(error);
      expect(check(body)).toBe(error);
    });
  }

  it("ignores the shape of claims it does not use", () => {
    const id = parse(withClaims({ resource_access: { account: "weird", [AUDIENCE]: { roles: ["r"] } }, extra: [1, { a: null }], typ: 5 }));
    expect(id.active).toBe(true);
    expect(id.roles).toContain("r");
  });

  it("reads a body with 10,000 roles (each twice) and 10,000 scopes in linear time", () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `r${i}`);
    const body = JSON.stringify(withClaims({ realm_access: { roles: [...many, ...many] }, scope: many.join(" ") }));
    expect(body.length).toBeLessThan(256 * 1024);
    const started = performance.now();
    const id = parse(body);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(id.error).toBe("");
    expect(id.roles).toEqual([...many, "model:invoke", "model:read"]);
    expect(id.scopes).toEqual(many);
  });

  it("reads bodies as strict UTF-8", () => {
    const bytes = new TextEncoder().encode(JSON.stringify(withClaims({ preferred_username: "zoë" })));
    expect(parseBytes(bytes).username).toBe("zoë");
    expect(checkBytes(bytes)).toBe("");
    const at = bytes.indexOf(0xc3);
    const overlong = Uint8Array.from([...bytes.slice(0, at), 0xc0, 0xa2, ...bytes.slice(at)]);
    expect(parseBytes(overlong).error).toBe(`introspection response: invalid UTF-8 at byte ${at}`);
    const big = new Uint8Array(256 * 1024 + 1).fill(0x20);
    expect(parseBytes(big).error).toBe("introspection response: longer than 262144 bytes");
  });
});

describe("introspection response: validation", () => {
  it("accepts a valid active token", () => {
    expect(check(KEYCLOAK)).toBe("");
    expect(check(KEYCLOAK, NOW, "", "")).toBe("");
  });

  const cases: [string, object, string, number?, string?, string?][] = [
    ["no sub", withClaims({}, ["sub"]), "sub: missing"],
    ["empty sub", withClaims({ sub: "" }), "sub: missing"],
    ["no exp", withClaims({}, ["exp"]), "exp: missing"],
    ["expired", withClaims({ exp: NOW - 1 }), "exp: token has expired"],
    ["expiring this second", withClaims({ exp: NOW }), "exp: token has expired"],
    ["not yet valid", withClaims({ nbf: NOW + 31 }), "nbf: token is not valid yet"],
    ["wrong issuer", withClaims({ iss: ISSUER + "x" }), "iss: not the configured issuer"],
    ["no issuer", withClaims({}, ["iss"]), "iss: not the configured issuer"],
    ["wrong audience", withClaims({ aud: ["account"], azp: "altgate-portal" }), "aud: the configured audience is neither in aud nor azp"],
    ["no audience", withClaims({}, ["aud"]), "aud: the configured audience is neither in aud nor azp"],
  ];
  for (const [name, body, reason] of cases) {
    it(`refuses: ${name}`, () => {
      expect(parse(body).active).toBe(true);
      expect(check(body)).toBe(reason);
    });
  }

  it("allows a small clock skew on nbf only", () => {
    expect(check(withClaims({ nbf: NOW + 30 }))).toBe("");
    expect(check(withClaims({ exp: NOW + 1 }))).toBe("");
  });

  it("accepts the audience as azp, and fractional NumericDates", () => {
    expect(check(withClaims({ aud: "account", azp: AUDIENCE }))).toBe("");
    expect(check(withClaims({ exp: NOW + 0.5 }))).toBe("exp: token has expired");
    expect(check(withClaims({ exp: NOW + 1.5 }))).toBe("");
  });

  it("checks neither iss nor aud when none is configured", () => {
    expect(check(withClaims({ iss: "other" }, ["aud"]), NOW, "", "")).toBe("");
  });
});

describe("introspection request", () => {
  it("form-encodes the token as URLSearchParams does", () => {
    const next = rng(6749);
    const samples = ["eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "agt_AbC123_xyz", "a b+c/d=e&f?g#h%i~j*k", "é😀\ud800\u0000", ""];
    for (let i = 0; i < 2000; i++) samples.push(randomString(next, 12) + String.fromCharCode(Math.floor(next() * 0x10000)));
    for (const token of samples) {
      const want = new URLSearchParams({ token, token_type_hint: "access_token" }).toString();
      expect(str((p) => mod.requestBody(p), token), JSON.stringify(token)).toBe(want);
    }
  });

  it("builds Basic credentials as RFC 6749 section 2.3.1 says", () => {
    const basic = (id: string, secret: string) => withStrings(mod, [id, secret], ([i, s]) => mod.__getString(mod.basic(i!, s!)));
    // The example of RFC 6749 section 2.3.1.
    expect(basic("s6BhdRkqt3", "7Fjfp0ZBr1KtDRbnfVdmIw")).toBe("Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3");
    const enc = (s: string) => new URLSearchParams({ s }).toString().slice(2);
    for (const [id, secret] of [["altgate-gateway", "s3cr3t"], ["a:b", "c:d"], ["id with space", "pä$$+/="], ["", ""]] as const) {
      expect(basic(id, secret)).toBe("Basic " + Buffer.from(`${enc(id)}:${enc(secret)}`, "utf8").toString("base64"));
    }
    // A ':' in the id is encoded, so the server splits id and secret where the client meant.
    expect(Buffer.from(basic("a:b", "c").slice(6), "base64").toString()).toBe("a%3Ab:c");
  });
});

/** The verdict a correct implementation must reach, computed from JSON.parse's reading. */
function referenceVerdict(body: string, roleClient: string, now: number, issuer: string, audience: string): "valid" | "invalid" {
  const parsed = jsParse(body);
  if (!parsed || hasDuplicateKeys(body) || depthOf(parsed.value) > 32) return "invalid";
  const v = parsed.value as Record<string, unknown>;
  if (v === null || typeof v !== "object" || Array.isArray(v) || v.active !== true) return "invalid";
  const control = /[\u0000-\u001f\u007f-\u009f]/;
  const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  const strings = (x: unknown): boolean =>
    typeof x === "string" ? !lone.test(x) : Array.isArray(x) ? x.every(strings) : x !== null && typeof x === "object" ? Object.entries(x).every(([k, e]) => !lone.test(k) && strings(e)) : true;
  if (!strings(v)) return "invalid";
  for (const claim of ["sub", "preferred_username", "username", "azp", "client_id", "iss", "jti", "scope"]) {
    if (claim in v && (typeof v[claim] !== "string" || control.test(v[claim] as string))) return "invalid";
  }
  const date = (claim: string) => {
    const n = v[claim];
    if (!(claim in v)) return 0;
    if (typeof n !== "number" || !Number.isFinite(n) || n < 0 || n > Number.MAX_SAFE_INTEGER) return undefined;
    return Math.floor(n);
  };
  const exp = date("exp"), nbf = date("nbf"), iat = date("iat");
  if (exp === undefined || nbf === undefined || iat === undefined) return "invalid";
  const aud = v.aud;
  if ("aud" in v && typeof aud !== "string" && !(Array.isArray(aud) && aud.every((a) => typeof a === "string"))) return "invalid";
  const rolesOk = (holder: unknown): boolean => {
    if (holder === undefined) return true;
    if (holder === null || typeof holder !== "object" || Array.isArray(holder)) return false;
    const roles = (holder as Record<string, unknown>).roles;
    return roles === undefined || (Array.isArray(roles) && roles.every((r) => typeof r === "string"));
  };
  if (!rolesOk(v.realm_access)) return "invalid";
  if (roleClient && "resource_access" in v) {
    const ra = v.resource_access;
    if (ra === null || typeof ra !== "object" || Array.isArray(ra)) return "invalid";
    if (!rolesOk((ra as Record<string, unknown>)[roleClient])) return "invalid";
  }
  if (typeof v.sub !== "string" || v.sub === "") return "invalid";
  if (!exp || exp <= now || nbf > now + 30) return "invalid";
  if (issuer && v.iss !== issuer) return "invalid";
  const audList = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
  if (audience && !audList.includes(audience) && v.azp !== audience) return "invalid";
  return "valid";
}

describe("introspection: fuzz", () => {
  const CLAIM_VALUES: Record<string, unknown[]> = {
    active: [true, true, true, false, "true", 1, null],
    sub: ["u1", "", 5, null, "a\nb", "é"],
    exp: [NOW + 60, NOW + 60, NOW, NOW - 1, NOW + 0.5, "9999999999", -5, 1e300, 9007199254740992, null],
    nbf: [NOW - 5, NOW + 30, NOW + 31, 0, "0"],
    iat: [NOW, -1, true],
    iss: [ISSUER, ISSUER, "other", 1],
    aud: [AUDIENCE, [AUDIENCE], ["x", AUDIENCE], ["x"], [], [1], 3, null],
    azp: [AUDIENCE, "portal", 1],
    client_id: ["portal", {}, "x\u0085"],
    preferred_username: ["alice", "", 0],
    username: ["bob", [], "\u007f"],
    jti: ["j1", 2],
    scope: ["openid models", "", " a  b ", "a\tb", ["a"], 1],
    realm_access: [{ roles: ["model:read"] }, { roles: [] }, { roles: "x" }, { roles: [1] }, [], "x", {}, { roles: null }],
    resource_access: [{ [AUDIENCE]: { roles: ["model:invoke"] } }, { [AUDIENCE]: [] }, { other: 5 }, [], "x", { [AUDIENCE]: { roles: [null] } }],
    extra: [[1, [2, { a: {} }]], "\u2028", 1e999],
  };

  function randomBody(next: () => number): string {
    const body: Record<string, unknown> = {};
    for (const [claim, values] of Object.entries(CLAIM_VALUES)) {
      if (next() < (claim === "active" || claim === "sub" || claim === "exp" ? 0.9 : 0.5)) {
        // The first value of each claim is a valid one: favouring it keeps valid bodies common.
        body[claim] = next() < 0.8 ? values[0] : values[Math.floor(next() * values.length)];
      }
    }
    let text = JSON.stringify(body);
    if (next() < 0.1) text = text.replace('"active":', '"active":false,"active":');
    return next() < 0.3 ? mutateText(next, text) : text;
  }

  it("20,000 random and mutated bodies: no abort, and valid exactly when the reference says so", () => {
    const next = rng(7662);
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      const body = randomBody(next);
      const issuer = next() < 0.7 ? ISSUER : "";
      const audience = next() < 0.7 ? AUDIENCE : "";
      const reason = check(body, NOW, issuer, audience);
      const want = referenceVerdict(body, audience, NOW, issuer, audience);
      const label = `case ${i}: ${body} (issuer ${JSON.stringify(issuer)}, audience ${JSON.stringify(audience)}) -> ${JSON.stringify(reason)}`;
      expect(reason === "" ? "valid" : "invalid", label).toBe(want);
      const id = parse(body, audience);
      if (id.active) expect((jsParse(body)?.value as { active?: unknown }).active, label).toBe(true);
      if (reason === "") valid++;
    }
    expect(valid).toBeGreaterThan(1_000);
  });

  it("5,000 bodies with corrupted bytes: no abort, never active unless the text says so", () => {
    const next = rng(3629);
    const fatal = new TextDecoder("utf-8", { fatal: true });
    for (let i = 0; i < 5_000; i++) {
      const bytes = new TextEncoder().encode(randomBody(next));
      for (let k = 0; k < 1 + Math.floor(next() * 3); k++) {
        if (bytes.length > 0) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      }
      const id = parseBytes(bytes);
      let text: string | undefined;
      try {
        text = fatal.decode(bytes);
      } catch {
        text = undefined;
      }
      const label = `case ${i}: ${Buffer.from(bytes).toString("hex")}`;
      if (text === undefined) {
        expect(id.active, label).toBe(false);
        expect(id.error, label).toMatch(/^introspection response: invalid UTF-8 at byte \d+$/);
      } else {
        expect(id, label).toEqual(parse(text));
        const reason = checkBytes(bytes);
        expect(reason === "" ? "valid" : "invalid", label).toBe(referenceVerdict(text, AUDIENCE, NOW, ISSUER, AUDIENCE));
      }
    }
  });
});
