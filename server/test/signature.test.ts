import { createHmac, timingSafeEqual } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalIdentity, signIdentity, verifyIdentitySignature } from "../src/signature.ts";

const KEY = Buffer.from("0123456789abcdef0123456789abcdef-test-key");
const NOW = 1_750_000_000;

const headers = (h: Record<string, string>) => (name: string) => h[name];
const identity = {
  "x-altgate-subject": "f3b2c1d0-1111-2222-3333-444455556666",
  "x-altgate-username": "alice",
  "x-altgate-client": "altgate-cli",
  "x-altgate-roles": "model:read,model:invoke,token:manage",
  "x-altgate-scopes": "openid,profile",
  "x-altgate-token-kind": "oidc",
  "x-altgate-token-id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
};
const signed = (h: Record<string, string> = identity, t = NOW) => ({ ...h, "x-altgate-signature": signIdentity(headers(h), KEY, t) });

// The reference verifier from filter-wasm/IDENTITY-SIGNATURE.md, verbatim in substance.
function referenceVerify(get: (n: string) => string | undefined, key: Buffer, nowSeconds: number, skewSeconds = 60): boolean {
  const FIELDS = ["subject", "username", "client", "roles", "scopes", "token-kind", "token-id"];
  const prefix = "x-altgate-";
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(get(`${prefix}signature`) ?? "");
  if (!m) return false;
  if (Math.abs(nowSeconds - Number(m[1])) > skewSeconds) return false;
  const canonical = ["altgate-identity-v1", ...FIELDS.map((f) => get(prefix + f) ?? ""), m[1]].join("\n");
  const expected = createHmac("sha256", key).update(canonical, "utf8").digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, "hex"));
}

describe("identity signature", () => {
  it("verifies a valid signature, and agrees with the reference verifier", () => {
    const h = signed();
    expect(verifyIdentitySignature(headers(h), KEY, NOW + 5, 60)).toEqual({ ok: true, t: NOW });
    expect(referenceVerify(headers(h), KEY, NOW + 5)).toBe(true);
  });

  it("uses the documented canonical form", () => {
    expect(canonicalIdentity(headers({ "x-altgate-subject": "s", "x-altgate-roles": "a,b" }), "42")).toBe("altgate-identity-v1\ns\n\n\na,b\n\n\n\n42");
  });

  it("treats absent headers as empty strings", () => {
    const h = signed({ "x-altgate-subject": "svc", "x-altgate-token-kind": "api-token" });
    expect(verifyIdentitySignature(headers(h), KEY, NOW, 60).ok).toBe(true);
  });

  it.each(Object.keys(identity))("refuses a tampered %s", (name) => {
    const h = { ...signed(), [name]: `${identity[name as keyof typeof identity]}x` };
    expect(verifyIdentitySignature(headers(h), KEY, NOW, 60)).toEqual({ ok: false, reason: "mismatch" });
  });

  it("refuses an added or removed header", () => {
    const { ["x-altgate-scopes"]: _, ...fewer } = identity;
    const h = signed(fewer);
    expect(verifyIdentitySignature(headers({ ...h, "x-altgate-scopes": "admin" }), KEY, NOW, 60).ok).toBe(false);
    const removed = { ...signed() } as Record<string, string>;
    delete removed["x-altgate-client"];
    expect(verifyIdentitySignature(headers(removed), KEY, NOW, 60).ok).toBe(false);
  });

  it("refuses another key", () => {
    const h = signed();
    expect(verifyIdentitySignature(headers(h), Buffer.from("another-key-another-key-another-key"), NOW, 60).ok).toBe(false);
  });

  it("refuses a stale or future timestamp beyond the skew", () => {
    const h = signed();
    expect(verifyIdentitySignature(headers(h), KEY, NOW + 60, 60).ok).toBe(true);
    expect(verifyIdentitySignature(headers(h), KEY, NOW + 61, 60)).toEqual({ ok: false, reason: "expired" });
    expect(verifyIdentitySignature(headers(h), KEY, NOW - 61, 60)).toEqual({ ok: false, reason: "expired" });
  });

  it("refuses a changed timestamp", () => {
    const h = signed();
    const sig = h["x-altgate-signature"].replace(`t=${NOW}`, `t=${NOW + 1}`);
    expect(verifyIdentitySignature(headers({ ...h, "x-altgate-signature": sig }), KEY, NOW, 60)).toEqual({ ok: false, reason: "mismatch" });
  });

  it.each([
    ["missing", undefined, "missing"],
    ["empty", "", "missing"],
    ["uppercase hex", `t=${NOW},v1=${"A".repeat(64)}`, "malformed"],
    ["short", `t=${NOW},v1=abcd`, "malformed"],
    ["no timestamp", `v1=${"a".repeat(64)}`, "malformed"],
    ["extra attributes", `t=${NOW},v1=${"a".repeat(64)},v2=x`, "malformed"],
    ["two headers joined", `t=${NOW},v1=${"a".repeat(64)}, t=${NOW},v1=${"a".repeat(64)}`, "malformed"],
  ])("refuses a %s signature", (_what, value, reason) => {
    const h: Record<string, string> = { ...identity };
    if (value !== undefined) h["x-altgate-signature"] = value;
    expect(verifyIdentitySignature(headers(h), KEY, NOW, 60)).toEqual({ ok: false, reason });
  });
});
