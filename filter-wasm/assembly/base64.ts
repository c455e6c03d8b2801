// Base64 (RFC 4648 section 4) encoding for HTTP Basic credentials, and base64url (section 5)
// decoding for JWT segments. Decoding is strict and canonical: one text decodes to at most one byte
// string, so a token cannot be re-spelled (other padding bits, stray characters) past a check that
// compares encoded forms.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function base64Encode(bytes: Uint8Array): string {
  const n = bytes.length;
  const out = new Array<i32>();
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (<i32>bytes[i] << 16) | (<i32>bytes[i + 1] << 8) | <i32>bytes[i + 2];
    out.push(ALPHABET.charCodeAt((v >> 18) & 63));
    out.push(ALPHABET.charCodeAt((v >> 12) & 63));
    out.push(ALPHABET.charCodeAt((v >> 6) & 63));
    out.push(ALPHABET.charCodeAt(v & 63));
  }
  const rest = n - i;
  if (rest > 0) {
    const v = (<i32>bytes[i] << 16) | (rest == 2 ? <i32>bytes[i + 1] << 8 : 0);
    out.push(ALPHABET.charCodeAt((v >> 18) & 63));
    out.push(ALPHABET.charCodeAt((v >> 12) & 63));
    out.push(rest == 2 ? ALPHABET.charCodeAt((v >> 6) & 63) : 0x3d);
    out.push(0x3d);
  }
  return String.fromCharCodes(out);
}

export class Base64Result {
  constructor(
    readonly ok: bool,
    /** What made the text undecodable, naming the offset; "" when ok. */
    readonly error: string,
    /** The decoded bytes when ok, otherwise empty. */
    readonly bytes: Uint8Array,
  ) {}
}

function urlValue(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c == 0x2d) return 62;
  if (c == 0x5f) return 63;
  return -1;
}

function failure(error: string): Base64Result {
  return new Base64Result(false, error, new Uint8Array(0));
}

/**
 * Decodes base64url with or without padding. Padding, when present, must complete the last group;
 * unused low bits of the last character must be zero.
 */
export function base64UrlDecode(text: string): Base64Result {
  let n = text.length;
  if (n % 4 == 0 && n > 0 && text.charCodeAt(n - 1) == 0x3d) {
    n--;
    if (text.charCodeAt(n - 1) == 0x3d) n--;
  }
  if (n % 4 == 1) return failure("invalid base64url length");
  const out = new Uint8Array((n / 4) * 3 + (n % 4 == 0 ? 0 : (n % 4) - 1));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    const v = urlValue(text.charCodeAt(i));
    if (v < 0) return failure("invalid base64url character at offset " + i.toString());
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = <u8>(acc >> bits);
    }
  }
  if ((acc & ((1 << bits) - 1)) != 0) return failure("non-zero padding bits in base64url");
  return new Base64Result(true, "", out);
}
