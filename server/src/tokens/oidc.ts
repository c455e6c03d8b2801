/**
 * Claims read from a Keycloak access token WITHOUT verifying its signature. They decide only what
 * to record (jti, exp) and whose token it claims to be (sub); the caller's authority comes from
 * the gateway's identity headers, never from these claims.
 */
export interface UnverifiedClaims {
  jti: string;
  exp: number;
  sub?: string;
  azp?: string;
}

/** The payload of a compact JWS, when it has a string jti and a numeric exp; undefined otherwise. */
export function decodeJwtClaims(token: string): UnverifiedClaims | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof payload !== "object" || payload === null) return undefined;
  const { jti, exp, sub, azp } = payload as Record<string, unknown>;
  if (typeof jti !== "string" || jti === "" || typeof exp !== "number" || !Number.isFinite(exp)) return undefined;
  return {
    jti,
    exp,
    ...(typeof sub === "string" ? { sub } : {}),
    ...(typeof azp === "string" ? { azp } : {}),
  };
}

export interface KeycloakRevocationResult {
  ok: boolean;
  status: number;
  /** Keycloak's `error` code, or the network failure; never contains the token. */
  error?: string;
}

/**
 * RFC 7009 revocation at Keycloak. Keycloak only revokes a token for the client it was issued to
 * (`azp`; otherwise 400 "Unmatching clients"), so pass the token's azp as clientId: a public client
 * needs no secret, a confidential one needs its own.
 */
export async function revokeAtKeycloak(
  endpoint: string,
  clientId: string,
  secret: string | undefined,
  token: string,
  timeoutMs = 3000,
): Promise<KeycloakRevocationResult> {
  const body = new URLSearchParams({ token, token_type_hint: "access_token" });
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (secret === undefined) {
    body.set("client_id", clientId);
  } else {
    // RFC 6749 2.3.1: form-encode id and secret before joining them for HTTP Basic.
    const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
    headers.authorization = `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString("base64")}`;
  }
  try {
    const res = await fetch(endpoint, { method: "POST", headers, body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    if (res.ok) return { ok: true, status: res.status };
    let error = `http_${res.status}`;
    try {
      const parsed = JSON.parse(text) as { error?: unknown; error_description?: unknown };
      if (typeof parsed.error === "string") error = typeof parsed.error_description === "string" ? `${parsed.error}: ${parsed.error_description}` : parsed.error;
    } catch {
      // Not JSON: the status says enough.
    }
    return { ok: false, status: res.status, error };
  } catch (err) {
    return { ok: false, status: 0, error: (err as Error).name === "TimeoutError" ? "timeout" : (err as Error).message };
  }
}
