/**
 * Who is calling, from the filter's trusted identity headers, and what they may use. With an HMAC
 * key configured the signature must verify first (no fallback to unsigned headers). Each model's
 * manifest roles are enforced here as a second line behind the filter's route rules.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv, Deps, ModelHandle } from "./context.ts";
import { forbiddenModel, noIdentity, unknownModel } from "./errors.ts";
import { identityFromHeaders, type Identity } from "./identity.ts";
import { allows } from "./manifest.ts";
import { SIGNATURE_REASONS, verifyIdentitySignature, type SignatureResult } from "./signature.ts";

export type SignatureStatus = "verified" | "not_configured" | Exclude<SignatureResult, { ok: true }>["reason"];

/** The caller's identity when it can be trusted, and the signature check's verdict. */
export function trustedIdentity(deps: Deps, get: (name: string) => string | undefined): { identity?: Identity; signature: SignatureStatus } {
  if (!deps.hmacKey) return { identity: identityFromHeaders(get), signature: "not_configured" };
  const r = verifyIdentitySignature(get, deps.hmacKey, deps.nowSeconds(), deps.maxSkewSeconds);
  if (!r.ok) return { signature: r.reason };
  return { identity: identityFromHeaders(get), signature: "verified" };
}

/** 401 unless the request carries a (verified) identity; sets `identity`. */
export function requireIdentity(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { identity, signature } = trustedIdentity(deps, (n) => c.req.header(n));
    if (signature !== "verified" && signature !== "not_configured") throw noIdentity(SIGNATURE_REASONS[signature]);
    if (!identity) throw noIdentity("no authenticated identity: requests must come through the altgate gateway with a valid token");
    c.set("identity", identity);
    await next();
  };
}

/** The model, when it exists (404) and the identity's roles allow it (403). */
export function authorizedModel(deps: Deps, name: string, identity: Identity): ModelHandle {
  const model = deps.models.get(name);
  if (!model) throw unknownModel(name);
  if (!allows(model.manifest, identity.roles)) throw forbiddenModel(name);
  return model;
}
