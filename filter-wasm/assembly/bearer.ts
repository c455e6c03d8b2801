// Bearer token extraction from the Authorization request header (RFC 6750 section 2.1):
//   credentials = "Bearer" 1*SP b64token
//   b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
// The scheme is matched case-insensitively (RFC 9110 11.1). The header value is read as the bytes
// that arrived. Reasons never quote it, since it may hold a credential.

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
    /** Where the token starts in the header value's bytes, and its length, when `kind` is Ok; 0 otherwise. */
    readonly offset: i32,
    readonly length: i32,
    /** Why the header was rejected, fit for error_description; "" unless `kind` is Malformed. */
    readonly reason: string,
  ) {}
}

/** Longer tokens are refused before they are scanned, hashed or sent to an issuer. */
export const MAX_TOKEN_LENGTH: i32 = 8192;

// Results without a token never change, so they are allocated once rather than per request.
const MISSING = new BearerResult(BearerKind.Missing, 0, 0, "");
const MULTIPLE = new BearerResult(BearerKind.Malformed, 0, 0, "more than one Authorization header");
const NOT_BEARER = new BearerResult(BearerKind.Malformed, 0, 0, "authorization scheme is not Bearer");
const EMPTY = new BearerResult(BearerKind.Malformed, 0, 0, "empty bearer token");
const TOO_LONG = new BearerResult(BearerKind.Malformed, 0, 0, "bearer token too long");
/** hasTokenSyntax's refusal, fit for error_description. */
export const BAD_TOKEN_SYNTAX = "bearer token has characters outside the b64token syntax";

const SP: u32 = 0x20;
const HTAB: u32 = 0x09;

/**
 * Where the bearer token lies in the first Authorization header: everything RFC 6750 asks of the
 * header except the token's characters, which hasTokenSyntax checks in a second step, so that a
 * caller that recognises bytes it has already checked (the filter's memo, by a keyed hash of
 * exactly these bytes) scans a token of a thousand bytes once rather than on every request.
 *
 * `count` is how many Authorization headers the request has; `value` and `length` are the bytes of
 * the first one, read in place (the token is never copied to be checked). Several headers are
 * refused rather than picking one: a proxy and the upstream could pick differently.
 */
export function locateBearer(count: i32, value: usize, length: i32): BearerResult {
  if (count <= 0) return MISSING;
  if (count > 1) return MULTIPLE;
  // Field values carry no surrounding whitespace (RFC 9110 5.5); tolerate it as Envoy would strip it.
  let start = 0;
  let end = length;
  while (start < end && isOws(byteAt(value, start))) start++;
  while (end > start && isOws(byteAt(value, end - 1))) end--;

  if (end - start < 6 || !isBearerScheme(value + <usize>start)) return NOT_BEARER;
  let i = start + 6;
  if (i == end) return EMPTY;
  if (byteAt(value, i) != SP) return NOT_BEARER;
  while (i < end && byteAt(value, i) == SP) i++;
  // Trailing whitespace was trimmed, so at least one non-space byte follows.
  if (end - i > MAX_TOKEN_LENGTH) return TOO_LONG;
  return new BearerResult(BearerKind.Ok, i, end - i, "");
}

/** Whether the `length` bytes at `token` are a b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". */
export function hasTokenSyntax(token: usize, length: i32): bool {
  let i = 0;
  while (i < length && isB64Char(byteAt(token, i))) i++;
  if (i == 0) return false;
  while (i < length && byteAt(token, i) == 0x3d /* = */) i++;
  return i == length;
}

// @ts-ignore: decorator
@inline function byteAt(p: usize, i: i32): u32 {
  return <u32>load<u8>(p + <usize>i);
}

function isOws(c: u32): bool {
  return c == SP || c == HTAB;
}

function isBearerScheme(p: usize): bool {
  // OR-ing 0x20 lowercases ASCII letters; no other byte maps onto a lowercase letter of "bearer".
  return (
    (byteAt(p, 0) | 0x20) == 0x62 && (byteAt(p, 1) | 0x20) == 0x65 && (byteAt(p, 2) | 0x20) == 0x61 &&
    (byteAt(p, 3) | 0x20) == 0x72 && (byteAt(p, 4) | 0x20) == 0x65 && (byteAt(p, 5) | 0x20) == 0x72
  );
}

// One byte per possible byte value, 1 for a b64token character: the token is checked with one
// load per byte, which matters for a Keycloak access token of over a thousand characters.
const B64_CHARS = memory.data<u8>([
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  //             +     -  .  /  0-9
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
  // A-Z                                                                              _
  0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
  // a-z                                                                              ~
  0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
]);

// @ts-ignore: decorator
@inline function isB64Char(c: u32): bool {
  return load<u8>(B64_CHARS + <usize>(c & 0xff)) != 0;
}
