// The authenticated caller: the identity headers the filter sets upstream, their signature, and a
// compact binary form for the introspection cache. The header format and the signature's canonical
// string are the contract with the server, described in filter-wasm/IDENTITY-SIGNATURE.md.
import { HmacSha256 } from "./hmac";
import { hexDigitUpper } from "./hex";
import { ByteReader, ByteWriter, string16Size } from "./bytes";

export class Identity {
  subject: string = "";
  username: string = "";
  client: string = "";
  roles: string[] = [];
  scopes: string[] = [];
  /** "oidc" or "api-token". */
  tokenKind: string = "";
  tokenId: string = "";
}

// Header suffixes: the seven identity fields in canonical order, then the signature.
const SUFFIXES: StaticArray<string> = ["subject", "username", "client", "roles", "scopes", "token-kind", "token-id", "signature"];
const FIELD_COUNT = 7;

/** Header names for a prefix, as UTF-8 for the host, built once per configuration rather than per request. */
export class IdentityHeaderNames {
  /** The seven identity fields' names, in canonical order. */
  readonly fieldBytes: ArrayBuffer[] = [];
  readonly signatureBytes: ArrayBuffer;

  constructor(readonly prefix: string) {
    this.signatureBytes = String.UTF8.encode(prefix + unchecked(SUFFIXES[FIELD_COUNT]));
    for (let i = 0; i < FIELD_COUNT; i++) this.fieldBytes.push(String.UTF8.encode(prefix + unchecked(SUFFIXES[i])));
  }
}

/** Longest header value, after encoding, that the filter sends; a longer one is an error, not cut. */
export const MAX_IDENTITY_HEADER_LENGTH: i32 = 4096;

/** Domain separation for the signature, and its version: a change to the canonical form bumps it. */
export const SIGNATURE_CONTEXT = "altgate-identity-v1";

/**
 * The headers to set upstream, prepared once per identity. Every value is percent-encoded (see
 * encodeValue), so none holds a CR, LF, NUL, comma inside a list element, or leading/trailing
 * space. Empty values are omitted; the server reads a missing header as "". A value over
 * MAX_IDENTITY_HEADER_LENGTH fails the whole set rather than being truncated: a cut subject could
 * name somebody else.
 *
 * With an HMAC key, `<prefix>signature` is "t=<nowSeconds>,v1=<hex HMAC-SHA256>" over
 *   SIGNATURE_CONTEXT "\n" subject "\n" username "\n" client "\n" roles "\n" scopes "\n"
 *   token-kind "\n" token-id "\n" t
 * where each field is the header value exactly as sent ("" when omitted), and t is the decimal
 * timestamp of the `t=` attribute. Encoded values contain no "\n", so the join is unambiguous.
 */
export function prepareIdentityHeaders(id: Identity, names: IdentityHeaderNames): PreparedIdentityHeaders {
  // The fields in SUFFIXES order, which is also the canonical order.
  const encoded: (string | null)[] = [
    encodeValue(id.subject), encodeValue(id.username), encodeValue(id.client), encodeList(id.roles), encodeList(id.scopes),
    encodeValue(id.tokenKind), encodeValue(id.tokenId),
  ];
  for (let i = 0; i < FIELD_COUNT; i++) if (unchecked(encoded[i]) === null) return failure(names, unchecked(SUFFIXES[i]));
  const p = new PreparedIdentityHeaders(names, SIGNATURE_CONTEXT + "\n" + encoded.join("\n"), "");
  for (let i = 0; i < FIELD_COUNT; i++) p.add(names, i, changetype<string>(unchecked(encoded[i])));
  return p;
}

function failure(names: IdentityHeaderNames, field: string): PreparedIdentityHeaders {
  return new PreparedIdentityHeaders(names, "", "identity " + field + " too long");
}

/**
 * One identity's headers, encoded once and kept with its cache entry: a request then only sends
 * bytes that are ready, and the signature is recomputed only when its timestamp's second changes.
 */
export class PreparedIdentityHeaders {
  /**
   * The unsigned headers, as UTF-8 for the host: names (shared with the configuration's
   * IdentityHeaderNames, not copied per identity) and values. Empty values are left out.
   */
  readonly nameBytes: ArrayBuffer[] = [];
  readonly valueBytes: ArrayBuffer[] = [];
  readonly signatureName: ArrayBuffer;
  private signedAt: i64 = -1;
  private signedBytes: ArrayBuffer = new ArrayBuffer(0);

  constructor(
    names: IdentityHeaderNames,
    /** The signed string up to and excluding "\n" t. */
    private readonly canonical: string,
    /** "" when every value fits; otherwise names the field that was too long, and there are no headers. */
    readonly error: string,
  ) {
    this.signatureName = names.signatureBytes;
  }

  add(names: IdentityHeaderNames, field: i32, value: string): void {
    if (value.length == 0) return;
    this.nameBytes.push(unchecked(names.fieldBytes[field]));
    this.valueBytes.push(String.UTF8.encode(value));
  }

  /** The `<prefix>signature` value for `nowSeconds`, recomputed only when the second changes. */
  signatureBytes(hmac: HmacSha256, nowSeconds: i64): ArrayBuffer {
    if (nowSeconds != this.signedAt) {
      const t = nowSeconds.toString();
      this.signedBytes = String.UTF8.encode("t=" + t + ",v1=" + hmac.macStringHex(this.canonical + "\n" + t));
      this.signedAt = nowSeconds;
    }
    return this.signedBytes;
  }
}

/**
 * Whether a request header must be stripped before the filter sets its own: any name starting
 * with `prefix`, compared case-insensitively. With an empty prefix (a configuration that should
 * be refused) it still strips the eight names the filter would set, never nothing.
 */
export function isIdentityHeader(name: string, prefix: string): bool {
  return identityName(changetype<usize>(name), name.length, 1, prefix);
}

/** isIdentityHeader for a name given as its Latin-1 bytes, as a header map holds it. */
export function isIdentityHeaderBytes(ptr: usize, len: usize, prefix: string): bool {
  return <u64>len <= <u64>i32.MAX_VALUE && identityName(ptr, <i32>len, 0, prefix);
}

/** The name is `len` characters at `ptr`, each `1 << shift` bytes wide (UTF-16 or Latin-1). */
function identityName(ptr: usize, len: i32, shift: i32, prefix: string): bool {
  if (prefix.length == 0) {
    for (let i = 0; i < SUFFIXES.length; i++) {
      const suffix = unchecked(SUFFIXES[i]);
      if (len == suffix.length && startsWithIgnoreCase(ptr, len, shift, suffix)) return true;
    }
    return false;
  }
  return startsWithIgnoreCase(ptr, len, shift, prefix);
}

function startsWithIgnoreCase(ptr: usize, len: i32, shift: i32, prefix: string): bool {
  const n = prefix.length;
  if (len < n) return false;
  for (let i = 0; i < n; i++) {
    const at = ptr + (<usize>i << shift);
    const c = shift != 0 ? <i32>load<u16>(at) : <i32>load<u8>(at);
    if (lowerAscii(c) != lowerAscii(prefix.charCodeAt(i))) return false;
  }
  return true;
}

function lowerAscii(c: i32): i32 {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * Percent-encodes (RFC 3986 style, uppercase hex) every UTF-8 byte outside 0x21-0x7E, and "%" and
 * ",". The result is printable ASCII that decodeURIComponent turns back into the original string
 * (an unpaired surrogate becomes U+FFFD). Returns null past MAX_IDENTITY_HEADER_LENGTH, measured
 * before anything is allocated. Values needing no escape are returned as they are.
 */
function encodeValue(s: string): string | null {
  const len = percentEncode(s, 0, 0);
  if (len > MAX_IDENTITY_HEADER_LENGTH) return null;
  if (len == s.length) return s;
  const out = changetype<string>(__new(<usize>len << 1, idof<string>()));
  percentEncode(s, changetype<usize>(out), 0);
  return out;
}

/** Non-empty items, each encoded as by encodeValue, joined by ",". */
function encodeList(items: string[]): string | null {
  let len = 0;
  for (let i = 0; i < items.length; i++) {
    const n = percentEncode(unchecked(items[i]), 0, 0);
    if (n > 0) len += (len > 0 ? 1 : 0) + n;
    if (len > MAX_IDENTITY_HEADER_LENGTH) return null;
  }
  const out = changetype<string>(__new(<usize>len << 1, idof<string>()));
  const dst = changetype<usize>(out);
  let pos = 0;
  for (let i = 0; i < items.length; i++) {
    const item = unchecked(items[i]);
    if (item.length == 0) continue;
    if (pos > 0) {
      store<u16>(dst + (<usize>pos << 1), 0x2c);
      pos++;
    }
    pos = percentEncode(item, dst, pos);
  }
  return out;
}

/**
 * Writes the encoding of `s` at `dst` from character `pos` on and returns the position after it;
 * with `dst` 0 it only measures. Measuring and writing share this one loop so that the buffer
 * sized by the first always fits the second.
 */
function percentEncode(s: string, dst: usize, pos: i32): i32 {
  const len = s.length;
  let i = 0;
  while (i < len) {
    let c = <u32>s.charCodeAt(i++);
    if (c < 0x80) {
      if (c > 0x20 && c < 0x7f && c != 0x25 && c != 0x2c) {
        if (dst != 0) store<u16>(dst + (<usize>pos << 1), <u16>c);
        pos++;
      } else {
        pos = escapeByte(c, dst, pos);
      }
      continue;
    }
    if ((c & 0xf800) == 0xd800) {
      // charCodeAt past the end is -1, which is no trail surrogate.
      const next = <u32>s.charCodeAt(i);
      if (c < 0xdc00 && (next & 0xfc00) == 0xdc00) {
        i++;
        c = 0x10000 + ((c & 0x3ff) << 10) + (next & 0x3ff);
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x800) {
      pos = escapeByte(0xc0 | (c >> 6), dst, pos);
    } else {
      if (c < 0x10000) {
        pos = escapeByte(0xe0 | (c >> 12), dst, pos);
      } else {
        pos = escapeByte(0xf0 | (c >> 18), dst, pos);
        pos = escapeByte(0x80 | ((c >> 12) & 0x3f), dst, pos);
      }
      pos = escapeByte(0x80 | ((c >> 6) & 0x3f), dst, pos);
    }
    pos = escapeByte(0x80 | (c & 0x3f), dst, pos);
  }
  return pos;
}

function escapeByte(b: u32, dst: usize, pos: i32): i32 {
  if (dst != 0) {
    const p = dst + (<usize>pos << 1);
    store<u16>(p, 0x25);
    store<u16>(p, hexDigitUpper(b >> 4), 2);
    store<u16>(p, hexDigitUpper(b), 4);
  }
  return pos + 3;
}

// Cached form: a format byte, then subject, username, client, token kind and token id (each a
// u16 byte length and UTF-8), then roles and scopes (each a u16 count of such strings).
const IDENTITY_FORMAT: u32 = 1;
export const MAX_SERIALIZED_IDENTITY: i32 = 16384;

/** The cache payload for `id`, or null when it would exceed MAX_SERIALIZED_IDENTITY (then it is not cached). */
export function serializeIdentity(id: Identity): Uint8Array | null {
  let size = 1 + string16Size(id.subject) + string16Size(id.username) + string16Size(id.client);
  size += string16Size(id.tokenKind) + string16Size(id.tokenId) + listSize(id.roles) + listSize(id.scopes);
  if (size > MAX_SERIALIZED_IDENTITY) return null;
  const w = new ByteWriter(size);
  w.u8(IDENTITY_FORMAT);
  w.string16(id.subject);
  w.string16(id.username);
  w.string16(id.client);
  w.string16(id.tokenKind);
  w.string16(id.tokenId);
  writeList(w, id.roles);
  writeList(w, id.scopes);
  return w.done() ? w.data : null;
}

/** The identity in a cache payload, or null for anything serializeIdentity did not produce. */
export function deserializeIdentity(bytes: Uint8Array): Identity | null {
  const r = new ByteReader(bytes);
  if (r.u8() != IDENTITY_FORMAT) return null;
  const id = new Identity();
  id.subject = r.string16();
  id.username = r.string16();
  id.client = r.string16();
  id.tokenKind = r.string16();
  id.tokenId = r.string16();
  id.roles = readList(r);
  id.scopes = readList(r);
  return r.done() ? id : null;
}

function listSize(items: string[]): i32 {
  // Past MAX_SERIALIZED_IDENTITY the exact size no longer matters, and stopping keeps it from overflowing.
  let size = 2;
  for (let i = 0; i < items.length && size <= MAX_SERIALIZED_IDENTITY; i++) size += string16Size(unchecked(items[i]));
  return size;
}

function writeList(w: ByteWriter, items: string[]): void {
  w.u16(<u32>items.length);
  for (let i = 0; i < items.length; i++) w.string16(unchecked(items[i]));
}

function readList(r: ByteReader): string[] {
  const n = <i32>r.u16();
  const items = new Array<string>(0);
  // A failed read stops the loop, so a garbage count costs no more than the bytes present.
  for (let i = 0; i < n && r.ok; i++) items.push(r.string16());
  return items;
}
