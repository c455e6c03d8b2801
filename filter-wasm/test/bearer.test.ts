import { beforeAll, describe, expect, it } from "vitest";
import type { ASUtil } from "@assemblyscript/loader";
import { loadEntry } from "./asc.ts";
import { rng, withStrings } from "./wasm-values.ts";

type Exports = { bearer(count: number, a: number, b: number, c: number): number };

let mod: ASUtil & Exports;
beforeAll(async () => {
  mod = await loadEntry<Exports>("filter-wasm/test/entries/bearer.ts");
});

const extract = (...values: string[]) => {
  const [a = "", b = "", c = ""] = values;
  return withStrings(mod, [a, b, c], ([pa, pb, pc]) => mod.__getString(mod.bearer(values.length, pa!, pb!, pc!)));
};

// The same grammar, written independently with a regular expression.
const reference = (values: string[]): string => {
  if (values.length === 0) return "missing";
  if (values.length > 1) return "malformed";
  const m = /^[ \t]*bearer( +)(.*?)[ \t]*$/is.exec(values[0]!);
  if (!m) return "malformed";
  const token = m[2]!;
  if (token.length === 0 || token.length > 8192) return "malformed";
  return /^[A-Za-z0-9\-._~+/]+=*$/.test(token) ? `ok:${token}` : "malformed";
};
const kindOf = (r: string) => (r.startsWith("malformed:") ? "malformed" : r);

describe("locateBearer and hasTokenSyntax", () => {
  it("no header is Missing (no error code, RFC 6750 3.1)", () => {
    expect(extract()).toBe("missing");
  });

  it("accepts a well-formed credential, scheme in any case, one or more spaces", () => {
    expect(extract("Bearer abc.DEF-123_~+/==")).toBe("ok:abc.DEF-123_~+/==");
    expect(extract("bearer x")).toBe("ok:x");
    expect(extract("BEARER x")).toBe("ok:x");
    expect(extract("BeArEr    agt_0123")).toBe("ok:agt_0123");
    expect(extract("  Bearer tok  ")).toBe("ok:tok");
    expect(extract("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln")).toBe("ok:eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln");
  });

  it("refuses several Authorization headers, even if each is valid", () => {
    expect(extract("Bearer a", "Bearer a")).toBe("malformed:more than one Authorization header");
    expect(extract("Bearer a", "Bearer b", "Bearer c")).toBe("malformed:more than one Authorization header");
  });

  it("refuses other schemes and scheme look-alikes", () => {
    for (const v of ["", "Basic dXNlcjpwYXNz", "Bearerabc", "Bearer\tabc", "Token abc", "Bear abc", "Bearer_abc", "Bearer:abc", "Bëarer abc", "abc"]) {
      expect(extract(v), v).toBe("malformed:authorization scheme is not Bearer");
    }
  });

  it("refuses an empty token", () => {
    for (const v of ["Bearer", "Bearer ", "Bearer      ", "bearer\t"]) expect(extract(v), v).toBe("malformed:empty bearer token");
  });

  it("refuses characters outside b64token, and '=' anywhere but the end", () => {
    for (const v of ["Bearer a b", "Bearer a,Bearer b", "Bearer a\tb", "Bearer ab%20", "Bearer ==", "Bearer =a", "Bearer a=b", "Bearer a\r\nX: y", "Bearer a\u0000", "Bearer tökén", "Bearer a\"b", "Bearer a;b"]) {
      expect(extract(v), JSON.stringify(v)).toBe("malformed:bearer token has characters outside the b64token syntax");
    }
  });

  it("takes exactly the b64token characters, for every one of the 256 byte values", () => {
    for (let b = 0; b < 256; b++) {
      const c = String.fromCharCode(b);
      expect(kindOf(extract(`Bearer x${c}y`)), `byte 0x${b.toString(16)}`).toBe(kindOf(reference([`Bearer x${c}y`])));
    }
  });

  it("accepts a token of exactly 8192 characters and refuses 8193", () => {
    expect(extract(`Bearer ${"a".repeat(8192)}`)).toBe(`ok:${"a".repeat(8192)}`);
    expect(extract(`Bearer ${"a".repeat(8193)}`)).toBe("malformed:bearer token too long");
    expect(extract(`Bearer ${"a".repeat(100_000)}`)).toBe("malformed:bearer token too long");
  });

  it("never echoes the header value in a reason", () => {
    expect(extract("Basic secret-value")).not.toContain("secret");
    expect(extract("Bearer secret value")).not.toContain("secret");
  });
});

describe("locateBearer and hasTokenSyntax fuzz", () => {
  const alphabet = ["a", "Z", "0", "-", ".", "_", "~", "+", "/", "=", " ", "\t", ",", "\r", "\n", "\u0000", "%", "é", "\ud800", "😀", "B", "e", "r", "R"];
  const randomValue = (next: () => number): string => {
    const r = next();
    // Mostly values near the grammar, some pure noise, a few very long ones.
    const prefix = r < 0.6 ? ["Bearer ", "bearer  ", "BEARER ", "Bearer", " Bearer "][Math.floor(next() * 5)]! : "";
    const len = next() < 0.01 ? 8180 + Math.floor(next() * 30) : Math.floor(next() * 40);
    let s = prefix;
    const noisy = next() < 0.5;
    for (let i = 0; i < len; i++) {
      s += noisy ? alphabet[Math.floor(next() * alphabet.length)]! : "aZ0-._~+/"[Math.floor(next() * 9)]!;
    }
    if (next() < 0.2) s += "=".repeat(Math.floor(next() * 3));
    return s;
  };

  it("20,000 random header lists: no abort, and exactly the grammar's verdict", () => {
    const next = rng(2024);
    let ok = 0;
    for (let i = 0; i < 20_000; i++) {
      const count = next() < 0.9 ? 1 : Math.floor(next() * 4);
      const values = Array.from({ length: count }, () => randomValue(next));
      const got = extract(...values);
      expect(kindOf(got), `case ${i}: ${JSON.stringify(values)}`).toBe(reference(values));
      if (got.startsWith("ok:")) ok++;
    }
    // The generator must reach both verdicts often, or the comparison proves little.
    expect(ok).toBeGreaterThan(4000);
    expect(ok).toBeLessThan(16_000);
  });
});
