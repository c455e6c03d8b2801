/**
 * Verifies the filter's identity signature, exactly as filter-wasm/IDENTITY-SIGNATURE.md specifies:
 * `x-altgate-signature: t=<unix seconds>,v1=<64 hex>` = HMAC-SHA256(key, canonical identity).
 * Timing-safe comparison, bounded clock skew, no fallback to unsigned headers. Pure (the clock is
 * a parameter).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { IDENTITY_PREFIX } from "./identity.ts";

export const SIGNED_FIELDS = ["subject", "username", "client", "roles", "scopes", "token-kind", "token-id"] as const;
export const SIGNATURE_HEADER = `${IDENTITY_PREFIX}signature`;

export type SignatureResult =
  | { ok: true; t: number }
  | { ok: false; reason: "missing" | "malformed" | "expired" | "mismatch" };

export function canonicalIdentity(get: (name: string) => string | undefined, t: string): string {
  return ["altgate-identity-v1", ...SIGNED_FIELDS.map((f) => get(IDENTITY_PREFIX + f) ?? ""), t].join("\n");
}

export function signIdentity(get: (name: string) => string | undefined, key: Buffer, t: number): string {
  const mac = createHmac("sha256", key).update(canonicalIdentity(get, String(t)), "utf8").digest("hex");
  return `t=${t},v1=${mac}`;
}

const SIGNATURE = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/;

export function verifyIdentitySignature(
  get: (name: string) => string | undefined,
  key: Buffer,
  nowSeconds: number,
  maxSkewSeconds: number,
): SignatureResult {
  const header = get(SIGNATURE_HEADER);
  if (header === undefined || header === "") return { ok: false, reason: "missing" };
  const m = SIGNATURE.exec(header);
  if (!m) return { ok: false, reason: "malformed" };
  const t = Number(m[1]);
  // Checked before the MAC so that a stale header costs no hashing; the skew bound is public.
  if (Math.abs(nowSeconds - t) > maxSkewSeconds) return { ok: false, reason: "expired" };
  const expected = createHmac("sha256", key).update(canonicalIdentity(get, m[1]!), "utf8").digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, "hex")) ? { ok: true, t } : { ok: false, reason: "mismatch" };
}

export const SIGNATURE_REASONS: Record<Exclude<SignatureResult, { ok: true }>["reason"], string> = {
  missing: "the identity headers are not signed",
  malformed: "the identity signature is malformed",
  expired: "the identity signature is outside the allowed clock skew",
  mismatch: "the identity signature does not verify",
};
