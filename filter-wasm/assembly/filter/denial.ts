// What the filter answers when it refuses a request: the contract's JSON error body and the
// RFC 6750 challenge. Pure, so it can be tested without a proxy.

export class Denial {
  constructor(
    readonly status: u32,
    /** OAuth error code: invalid_request, invalid_token, insufficient_scope, temporarily_unavailable, server_error. */
    readonly error: string,
    /** Human-readable reason; never token material. */
    readonly description: string,
    /** The metric and response-detail suffix: missing_token, malformed, invalid_token, forbidden, … */
    readonly reason: string,
  ) {}
}

export function missingToken(): Denial {
  return new Denial(401, "invalid_token", "a bearer token is required", "missing_token");
}

export function malformedAuthorization(why: string): Denial {
  return new Denial(401, "invalid_request", why, "malformed");
}

export function invalidToken(why: string): Denial {
  return new Denial(401, "invalid_token", why, "invalid_token");
}

export function revoked(): Denial {
  return new Denial(401, "invalid_token", "the token has been revoked", "revoked");
}

export function forbidden(why: string): Denial {
  return new Denial(403, "insufficient_scope", why, "forbidden");
}

export function noRule(): Denial {
  return new Denial(403, "insufficient_scope", "no route rule allows this request", "no_rule");
}

export function badPath(why: string): Denial {
  return new Denial(400, "invalid_request", why, "bad_path");
}

export function issuerUnavailable(why: string): Denial {
  return new Denial(503, "temporarily_unavailable", why, "issuer_unavailable");
}

/** The proxy would not let the filter read what it must (headers, revoked set) or change the headers. */
export function proxyRefused(why: string): Denial {
  return new Denial(500, "server_error", why, "proxy_error");
}

/** Seconds a client should wait after a 503 before retrying. */
export const RETRY_AFTER_S = "1";

function hex4(c: i32): string {
  const digits = "0123456789abcdef";
  return (
    "\\u" +
    digits.charAt((c >> 12) & 15) +
    digits.charAt((c >> 8) & 15) +
    digits.charAt((c >> 4) & 15) +
    digits.charAt(c & 15)
  );
}

/** A JSON string literal; request ids can come from other proxies, so nothing is trusted as-is. */
export function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c < 0x20 || c == 0x7f || (c >= 0xd800 && c <= 0xdfff) || c == 0x2028 || c == 0x2029) out += hex4(c);
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

export function denialBody(d: Denial, requestId: string): string {
  return (
    '{"error":' + jsonString(d.error) +
    ',"error_description":' + jsonString(d.description) +
    ',"request_id":' + jsonString(requestId) + "}"
  );
}

/** RFC 6750 section 3: no error attribute when the request carried no credentials at all. */
export function challenge(d: Denial): string {
  if (d.reason == "missing_token") return 'Bearer realm="altgate"';
  let desc = "";
  for (let i = 0; i < d.description.length; i++) {
    const c = d.description.charCodeAt(i);
    // error_description is limited to %x20-21 / %x23-5B / %x5D-7E (RFC 6750 section 3).
    if (c >= 0x20 && c <= 0x7e && c != 0x22 && c != 0x5c) desc += String.fromCharCode(c);
  }
  return 'Bearer realm="altgate", error="' + d.error + '", error_description="' + desc + '"';
}
