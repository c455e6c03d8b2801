// Bearer token extraction from the Authorization request header (RFC 6750 section 2.1):
//   credentials = "Bearer" 1*SP b64token
//   b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
// The scheme is matched case-insensitively (RFC 9110 11.1). Reasons never quote the header value,
// since it may hold a credential.

export enum BearerKind {
  /** No Authorization header: 401 with a bare `WWW-Authenticate: Bearer` (RFC 6750 3.1). */
  Missing,
  /** An Authorization header that is not one well-formed bearer credential: invalid_request. */
  Malformed,
  Ok,
}

export class BearerResult {
  constructor(
    readonly kind: BearerKind,
    /** The token when `kind` is Ok, otherwise "". */
    readonly token: string,
    /** Why the header was rejected, fit for error_description; "" unless `kind` is Malformed. */
    readonly reason: string,
  ) {}
}

/** Longer tokens are refused before they are scanned, hashed or sent to an issuer. */
export const MAX_TOKEN_LENGTH: i32 = 8192;

// Results without a token never change, so they are allocated once rather than per request.
const MISSING = new BearerResult(BearerKind.Missing, "", "");
const MULTIPLE = new BearerResult(BearerKind.Malformed, "", "more than one Authorization header");
const NOT_BEARER = new BearerResult(BearerKind.Malformed, "", "authorization scheme is not Bearer");
const EMPTY = new BearerResult(BearerKind.Malformed, "", "empty bearer token");
const TOO_LONG = new BearerResult(BearerKind.Malformed, "", "bearer token too long");
const BAD_CHARS = new BearerResult(BearerKind.Malformed, "", "bearer token has characters outside the b64token syntax");

const SP: i32 = 0x20;
const HTAB: i32 = 0x09;

/**
 * `values` holds every Authorization header value of the request, in order. Several headers are
 * refused rather than picking one: a proxy and the upstream could pick differently.
 */
export function extractBearer(values: string[]): BearerResult {
  if (values.length == 0) return MISSING;
  if (values.length > 1) return MULTIPLE;
  const v = unchecked(values[0]);
  // Field values carry no surrounding whitespace (RFC 9110 5.5); tolerate it as Envoy would strip it.
  let start = 0;
  let end = v.length;
  while (start < end && isOws(v.charCodeAt(start))) start++;
  while (end > start && isOws(v.charCodeAt(end - 1))) end--;

  if (end - start < 6 || !isBearerScheme(v, start)) return NOT_BEARER;
  let i = start + 6;
  if (i == end) return EMPTY;
  if (v.charCodeAt(i) != SP) return NOT_BEARER;
  while (i < end && v.charCodeAt(i) == SP) i++;
  // Trailing whitespace was trimmed, so at least one non-space character follows.
  if (end - i > MAX_TOKEN_LENGTH) return TOO_LONG;
  if (!isB64Token(v, i, end)) return BAD_CHARS;
  return new BearerResult(BearerKind.Ok, v.substring(i, end), "");
}

function isOws(c: i32): bool {
  return c == SP || c == HTAB;
}

function isBearerScheme(v: string, at: i32): bool {
  const scheme = "bearer";
  for (let k = 0; k < 6; k++) {
    // OR-ing 0x20 lowercases ASCII letters; no other character maps onto a lowercase letter of "bearer".
    if ((v.charCodeAt(at + k) | 0x20) != scheme.charCodeAt(k)) return false;
  }
  return true;
}

function isB64Token(v: string, start: i32, end: i32): bool {
  let i = start;
  while (i < end && isB64Char(v.charCodeAt(i))) i++;
  if (i == start) return false;
  while (i < end && v.charCodeAt(i) == 0x3d /* = */) i++;
  return i == end;
}

function isB64Char(c: i32): bool {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c == 0x2d || c == 0x2e || c == 0x5f || c == 0x7e || c == 0x2b || c == 0x2f // - . _ ~ + /
  );
}
