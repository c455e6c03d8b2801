import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CHECKSUM_LENGTH, generateToken, hashToken, parseToken, RANDOM_LENGTH, TOKEN_LENGTH, TOKEN_PREFIX } from "../../src/tokens/format.ts";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

describe("API token format", { timeout: 30_000 }, () => {
  it("is agt_ + 43 base62 characters of randomness + a 6-character checksum", () => {
    const token = generateToken();
    expect(token).toMatch(/^agt_[0-9A-Za-z]{49}$/);
    expect(TOKEN_LENGTH).toBe(TOKEN_PREFIX.length + RANDOM_LENGTH + CHECKSUM_LENGTH);
    // 43 uniformly random base62 characters carry at least 256 bits.
    expect(RANDOM_LENGTH * Math.log2(62)).toBeGreaterThanOrEqual(256);
  });

  it("generates 10,000 distinct tokens that all parse, with every character used at every position", () => {
    const tokens = new Set<string>();
    const seenAt = Array.from({ length: RANDOM_LENGTH }, () => new Set<string>());
    for (let i = 0; i < 10_000; i++) {
      const t = generateToken();
      expect(parseToken(t)).toEqual({ ok: true, token: t });
      tokens.add(t);
      for (let p = 0; p < RANDOM_LENGTH; p++) seenAt[p]!.add(t[TOKEN_PREFIX.length + p]!);
    }
    expect(tokens.size).toBe(10_000);
    // A biased or truncated alphabet would leave characters unseen in 10,000 draws per position.
    for (const s of seenAt) expect(s.size).toBe(62);
  });

  it("rejects every single-character substitution, in the random part and in the checksum", () => {
    for (let n = 0; n < 5; n++) {
      const token = generateToken();
      let variants = 0;
      for (let p = TOKEN_PREFIX.length; p < TOKEN_LENGTH; p++) {
        for (const ch of ALPHABET) {
          if (ch === token[p]) continue;
          const typo = token.slice(0, p) + ch + token.slice(p + 1);
          expect(parseToken(typo), `${p}:${ch}`).toEqual({ ok: false, reason: "checksum" });
          variants++;
        }
      }
      expect(variants).toBe((TOKEN_LENGTH - TOKEN_PREFIX.length) * 61);
    }
  });

  it("rejects every adjacent transposition of two different characters", () => {
    for (let n = 0; n < 20; n++) {
      const token = generateToken();
      for (let p = TOKEN_PREFIX.length; p < TOKEN_LENGTH - 1; p++) {
        if (token[p] === token[p + 1]) continue;
        const swapped = token.slice(0, p) + token[p + 1] + token[p] + token.slice(p + 2);
        expect(parseToken(swapped).ok).toBe(false);
      }
    }
  });

  it("names what is wrong: prefix, shape (length, alphabet) or checksum", () => {
    const token = generateToken();
    expect(parseToken(`agx_${token.slice(4)}`)).toEqual({ ok: false, reason: "prefix" });
    expect(parseToken(token.slice(1))).toEqual({ ok: false, reason: "prefix" });
    expect(parseToken(token.slice(0, -1))).toEqual({ ok: false, reason: "shape" });
    expect(parseToken(`${token}A`)).toEqual({ ok: false, reason: "shape" });
    expect(parseToken(`${token.slice(0, 10)}-${token.slice(11)}`)).toEqual({ ok: false, reason: "shape" });
    expect(parseToken(`${token.slice(0, 10)}é${token.slice(11)}`)).toEqual({ ok: false, reason: "shape" });
    expect(parseToken("")).toEqual({ ok: false, reason: "prefix" });
    expect(parseToken("eyJhbGciOiJSUzI1NiJ9.e30.sig")).toEqual({ ok: false, reason: "prefix" });
  });

  it("hashes the whole token string to lowercase SHA-256 hex, the key the filter computes", () => {
    const token = generateToken();
    expect(hashToken(token)).toBe(createHash("sha256").update(token).digest("hex"));
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
  });
});
