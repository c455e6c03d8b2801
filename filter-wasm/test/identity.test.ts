import { beforeAll, describe, expect, it } from "vitest";
import { createHmac, timingSafeEqual } from "node:crypto";
import type { ASUtil } from "@assemblyscript/loader";
import { loadEntry } from "./asc.ts";
import { rng, withBuffers, withStrings } from "./wasm-values.ts";

type Exports = {
  headers(s: number, u: number, c: number, r: number, sc: number, k: number, t: number, prefix: number, key: number, now: bigint): number;
  serialize(s: number, u: number, c: number, r: number, sc: number, k: number, t: number): number;
  deserialize(bytes: number): number;
  identityHeader(name: number, prefix: number): number;
  preparedLines(s: number, u: number, c: number, r: number, sc: number, k: number, t: number, prefix: number, key: number, now: bigint, later: bigint): number;
};

let mod: ASUtil & Exports;
beforeAll(async () => {
  mod = await loadEntry<Exports>("filter-wasm/test/entries/identity.ts");
});

type Id = { subject: string; username: string; client: string; roles: string[]; scopes: string[]; tokenKind: string; tokenId: string };
const alice: Id = {
  subject: "2f1c8a9e-6b0d-4c1e-9f3a-5d7e8b2c1a00",
  username: "alice",
  client: "altgate-portal",
  roles: ["model:read", "model:invoke"],
  scopes: ["openid", "profile"],
  tokenKind: "oidc",
  tokenId: "7c3e0f4a-jti",
};
const fields = (id: Id) => [id.subject, id.username, id.client, id.roles.join("\uffff"), id.scopes.join("\uffff"), id.tokenKind, id.tokenId];

const headerLines = (id: Id, prefix = "x-altgate-", key = "", now = 1_700_000_000n): string =>
  withStrings(mod, [...fields(id), prefix, key], (p) => mod.__getString(mod.headers(p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!, p[6]!, p[7]!, p[8]!, now)));
// Unpaired surrogates become U+FFFD, as in the filter's UTF-8 (String#toWellFormed, before ES2024).
const wellFormed = (s: string) => Buffer.from(s, "utf8").toString("utf8");
const headerMap = (lines: string): Map<string, string> =>
  new Map(lines.split("\n").map((l) => [l.slice(0, l.indexOf(": ")), l.slice(l.indexOf(": ") + 2)] as [string, string]));

// The server side of filter-wasm/IDENTITY-SIGNATURE.md, written from the document.
const FIELDS = ["subject", "username", "client", "roles", "scopes", "token-kind", "token-id"];
function verify(headers: Map<string, string>, key: string, nowSeconds: number, prefix = "x-altgate-"): boolean {
  const sig = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(headers.get(`${prefix}signature`) ?? "");
  if (!sig) return false;
  const t = sig[1]!;
  if (Math.abs(nowSeconds - Number(t)) > 60) return false;
  const canonical = ["altgate-identity-v1", ...FIELDS.map((f) => headers.get(prefix + f) ?? ""), t].join("\n");
  const want = createHmac("sha256", Buffer.from(key, "utf8")).update(canonical, "utf8").digest();
  return timingSafeEqual(want, Buffer.from(sig[2]!, "hex"));
}

describe("prepared identity headers (kept with a cache entry, reused per request)", () => {
  const KEY = "k".repeat(32);
  const prepared = (id: Id, prefix: string, now: number, later: number) =>
    withStrings(mod, [...fields(id), prefix, KEY], (p) =>
      mod.__getString(mod.preparedLines(p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!, p[6]!, p[7]!, p[8]!, BigInt(now), BigInt(later))),
    );
  const ids: Id[] = [alice, { ...alice, username: "", scopes: [] }, { ...alice, subject: "a,b%c d\n", roles: ["é", "x y"], tokenKind: "api-token" }];

  it("send the very bytes a fresh preparation sends, and re-sign when the second changes", () => {
    for (const id of ids) {
      for (const prefix of ["x-altgate-", "x-other-"]) {
        const [first, second] = prepared(id, prefix, 1_700_000_000, 1_700_000_007).split("\n--\n") as [string, string];
        expect(first).toBe(headerLines(id, prefix, KEY, 1_700_000_000n));
        expect(second).toBe(headerLines(id, prefix, KEY, 1_700_000_007n));
        expect(verify(headerMap(second), KEY, 1_700_000_007, prefix)).toBe(true);
        expect(headerMap(first).get(`${prefix}signature`)).not.toBe(headerMap(second).get(`${prefix}signature`));
      }
    }
  });

  it("within one second sign once and send the same signature", () => {
    const [first, second] = prepared(alice, "x-altgate-", 1_700_000_000, 1_700_000_000).split("\n--\n");
    expect(second).toBe(first);
  });

  it("fail on a value that is too long, as a fresh preparation does", () => {
    const long = { ...alice, subject: "s".repeat(5000) };
    expect(prepared(long, "x-altgate-", 1, 2)).toBe(headerLines(long, "x-altgate-", KEY, 1n));
  });
});

describe("identity headers", () => {
  it("sets every field under the prefix; lists are comma-separated", () => {
    expect(headerLines(alice)).toBe(
      [
        "x-altgate-subject: 2f1c8a9e-6b0d-4c1e-9f3a-5d7e8b2c1a00",
        "x-altgate-username: alice",
        "x-altgate-client: altgate-portal",
        "x-altgate-roles: model:read,model:invoke",
        "x-altgate-scopes: openid,profile",
        "x-altgate-token-kind: oidc",
        "x-altgate-token-id: 7c3e0f4a-jti",
      ].join("\n"),
    );
    expect(headerLines(alice, "x-gw-")).toContain("x-gw-token-kind: oidc");
  });

  it("omits empty values and empty list items", () => {
    const lines = headerLines({ ...alice, client: "", scopes: [], roles: ["", "a", ""], tokenKind: "api-token" });
    expect(lines).not.toContain("x-altgate-client");
    expect(lines).not.toContain("x-altgate-scopes");
    expect(lines).toContain("x-altgate-roles: a\n");
  });

  it("percent-encodes what could break the header or the list: CR, LF, NUL, space, %, comma, non-ASCII", () => {
    const h = headerMap(headerLines({ ...alice, username: "José O'Neil\r\nx-altgate-roles: admin", roles: ["a,b", "100%", "\u0000"], scopes: ["日本"] }));
    expect(h.get("x-altgate-username")).toBe("Jos%C3%A9%20O'Neil%0D%0Ax-altgate-roles:%20admin");
    expect(h.get("x-altgate-roles")).toBe("a%2Cb,100%25,%00");
    expect(h.get("x-altgate-scopes")).toBe("%E6%97%A5%E6%9C%AC");
    expect(h.get("x-altgate-roles")!.split(",").map(decodeURIComponent)).toEqual(["a,b", "100%", "\u0000"]);
  });

  it("fuzz: 20,000 random identities give printable-ASCII values that decode back to the input", () => {
    const next = rng(11);
    const chars = ["a", "Z", "9", ",", "%", " ", "\t", "\r", "\n", "\u0000", "\u007f", "é", "€", "😀", "\ud800", "\udc00", ":", "=", "\"", "\\"];
    const str = () => Array.from({ length: Math.floor(next() * 12) }, () => chars[Math.floor(next() * chars.length)]!).join("");
    for (let i = 0; i < 20_000; i++) {
      const id: Id = {
        subject: str(), username: str(), client: str(), tokenKind: str(), tokenId: str(),
        roles: Array.from({ length: Math.floor(next() * 4) }, str),
        scopes: Array.from({ length: Math.floor(next() * 4) }, str),
      };
      const lines = headerLines(id);
      if (lines === "") continue;
      for (const line of lines.split("\n")) {
        const value = line.slice(line.indexOf(": ") + 2);
        expect(value, JSON.stringify(id)).toMatch(/^[\x21-\x7e]+$/);
      }
      const h = headerMap(lines);
      const decoded = (name: string) => decodeURIComponent(h.get(`x-altgate-${name}`) ?? "");
      const list = (name: string) => (h.get(`x-altgate-${name}`) ?? "").split(",").filter((x) => x !== "").map(decodeURIComponent);
      expect(decoded("subject")).toBe(wellFormed(id.subject));
      expect(decoded("username")).toBe(wellFormed(id.username));
      expect(decoded("token-id")).toBe(wellFormed(id.tokenId));
      expect(list("roles")).toEqual(id.roles.filter((r) => r !== "").map(wellFormed));
      expect(list("scopes")).toEqual(id.scopes.filter((r) => r !== "").map(wellFormed));
    }
  });

  it("refuses, rather than truncates, a value longer than 4096 characters once encoded", () => {
    expect(headerLines({ ...alice, subject: "s".repeat(4096) })).toContain(`x-altgate-subject: ${"s".repeat(4096)}`);
    expect(headerLines({ ...alice, subject: "s".repeat(4097) })).toBe("!identity subject too long");
    expect(headerLines({ ...alice, username: "é".repeat(683) })).toBe("!identity username too long"); // 683 × 6 > 4096
    expect(headerLines({ ...alice, roles: Array(1000).fill("model:read") })).toBe("!identity roles too long");
    expect(headerLines({ ...alice, scopes: ["x".repeat(100_000)] })).toBe("!identity scopes too long");
  });
});

describe("identity signature", () => {
  const key = "a shared secret of some length";

  it("is t=<seconds>,v1=<hex> and verifies with the algorithm in IDENTITY-SIGNATURE.md", () => {
    const h = headerMap(headerLines(alice, "x-altgate-", key, 1_700_000_123n));
    expect(h.get("x-altgate-signature")).toMatch(/^t=1700000123,v1=[0-9a-f]{64}$/);
    expect(verify(h, key, 1_700_000_130)).toBe(true);
  });

  it("matches a known canonical string exactly", () => {
    const h = headerMap(headerLines({ ...alice, client: "", roles: ["r,1"] }, "x-altgate-", key, 42n));
    const canonical = [
      "altgate-identity-v1", alice.subject, "alice", "", "r%2C1", "openid,profile", "oidc", "7c3e0f4a-jti", "42",
    ].join("\n");
    expect(h.get("x-altgate-signature")).toBe(`t=42,v1=${createHmac("sha256", key).update(canonical).digest("hex")}`);
  });

  it("fails verification when any header is changed, added or removed, or with another key or an old timestamp", () => {
    const h = headerMap(headerLines(alice, "x-altgate-", key, 1_700_000_000n));
    for (const f of FIELDS) {
      const changed = new Map(h);
      changed.set(`x-altgate-${f}`, `${h.get(`x-altgate-${f}`) ?? ""}x`);
      expect(verify(changed, key, 1_700_000_000), f).toBe(false);
      const removed = new Map(h);
      removed.delete(`x-altgate-${f}`);
      expect(verify(removed, key, 1_700_000_000), f).toBe(false);
    }
    const noClient = headerMap(headerLines({ ...alice, client: "" }, "x-altgate-", key, 1_700_000_000n));
    expect(verify(noClient, key, 1_700_000_000)).toBe(true);
    noClient.set("x-altgate-client", "admin-cli");
    expect(verify(noClient, key, 1_700_000_000)).toBe(false);
    expect(verify(h, "another key", 1_700_000_000)).toBe(false);
    expect(verify(h, key, 1_700_000_300)).toBe(false);
  });

  it("a moved field does not verify: roles and scopes swapped", () => {
    const h = headerMap(headerLines({ ...alice, roles: ["x"], scopes: ["y"] }, "x-altgate-", key));
    h.set("x-altgate-roles", "y");
    h.set("x-altgate-scopes", "x");
    expect(verify(h, key, 1_700_000_000)).toBe(false);
  });

  it("is absent without a key", () => {
    expect(headerLines(alice)).not.toContain("signature");
  });
});

describe("isIdentityHeader", () => {
  const is = (name: string, prefix = "x-altgate-") => withStrings(mod, [name, prefix], ([n, p]) => mod.identityHeader(n!, p!) !== 0);

  it("matches any header under the prefix, in any case", () => {
    for (const n of ["x-altgate-subject", "X-Altgate-Roles", "X-ALTGATE-SIGNATURE", "x-altgate-anything-else", "x-altgate-"]) expect(is(n), n).toBe(true);
    for (const n of ["x-altgate", "authorization", "x-altgat-subject", "xx-altgate-subject", "", "subject"]) expect(is(n), n).toBe(false);
  });

  it("with an empty prefix still strips the names the filter sets", () => {
    expect(is("Subject", "")).toBe(true);
    expect(is("token-kind", "")).toBe(true);
    expect(is("subjects", "")).toBe(false);
    expect(is("content-type", "")).toBe(false);
  });
});

describe("identity cache payload", () => {
  const serialize = (id: Id): Uint8Array | null =>
    withStrings(mod, fields(id), (p) => {
      const ptr = mod.serialize(p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!, p[6]!);
      return ptr ? new Uint8Array(mod.__getArrayBuffer(ptr)) : null;
    });
  const deserialize = (b: Uint8Array) => withBuffers(mod, [b], ([p]) => mod.__getString(mod.deserialize(p!)));
  const described = (id: Id) => [id.subject, id.username, id.client, id.roles.join("\ufffe"), id.scopes.join("\ufffe"), id.tokenKind, id.tokenId].join("\uffff");

  it("round-trips, including unpaired surrogates and empty lists", () => {
    for (const id of [alice, { ...alice, roles: [], scopes: [], client: "" }, { ...alice, username: "\ud800é😀", roles: ["", "r"] }]) {
      const bytes = serialize(id)!;
      expect(bytes).not.toBeNull();
      expect(deserialize(bytes)).toBe(described(id));
    }
  });

  it("is compact", () => {
    expect(serialize(alice)!.length).toBeLessThan(150);
  });

  it("refuses identities over 16 KiB", () => {
    expect(serialize({ ...alice, roles: Array(2000).fill("model:read") })).toBeNull();
    expect(serialize({ ...alice, subject: "x".repeat(70_000) })).toBeNull();
  });

  it("fuzz: 20,000 truncated, extended, mutated and random payloads decode to null or an identity, never abort", () => {
    const next = rng(3);
    const valid = serialize(alice)!;
    let decoded = 0;
    for (let i = 0; i < 20_000; i++) {
      let b: Uint8Array;
      const r = next();
      if (r < 0.25) b = valid.slice(0, Math.floor(next() * valid.length));
      else if (r < 0.35) b = Uint8Array.from([...valid, Math.floor(next() * 256)]);
      else if (r < 0.85) {
        b = valid.slice();
        for (let k = 0; k < 1 + Math.floor(next() * 3); k++) b[Math.floor(next() * b.length)] = Math.floor(next() * 256);
      } else b = new Uint8Array(Math.floor(next() * 64)).map(() => Math.floor(next() * 256));
      const out = deserialize(b);
      if (out !== "null") {
        decoded++;
        expect(out.split("\uffff")).toHaveLength(7);
      }
      if (r < 0.35) expect(out).toBe("null");
    }
    expect(decoded).toBeGreaterThan(1000);
  });
});
