// Strict UTF-8 for bodies that arrive as bytes (plugin configuration, issuer responses).
//
// AssemblyScript's own String.UTF8.decode is lenient: it masks continuation bytes without checking
// them and accepts overlong forms, so the bytes C0 A2 decode to a quote. A JSON document that the
// issuer or the server reads one way must not read another way here, so ill-formed input is refused
// (RFC 3629 section 3: no overlongs, no surrogates, nothing above U+10FFFF) instead of repaired.

export class Utf8Result {
  constructor(
    readonly ok: bool,
    /** Why the bytes are not UTF-8, naming the byte offset; "" when ok. */
    readonly error: string,
    /** The decoded text when ok, otherwise "". */
    readonly text: string,
  ) {}
}

function invalidAt(offset: i32): Utf8Result {
  return new Utf8Result(false, "invalid UTF-8 at byte " + offset.toString(), "");
}

export function decodeUtf8(buf: ArrayBuffer): Utf8Result {
  const bytes = Uint8Array.wrap(buf);
  const n = bytes.length;
  const units = new Array<i32>();
  let i = 0;
  while (i < n) {
    const b0 = <i32>bytes[i];
    if (b0 < 0x80) {
      units.push(b0);
      i++;
      continue;
    }
    let need = 0;
    let cp = 0;
    let min = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1; cp = b0 & 0x1f; min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2; cp = b0 & 0x0f; min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3; cp = b0 & 0x07; min = 0x10000;
    } else {
      return invalidAt(i);
    }
    if (i + need >= n) return invalidAt(i);
    for (let k = 1; k <= need; k++) {
      const b = <i32>bytes[i + k];
      if ((b & 0xc0) != 0x80) return invalidAt(i);
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return invalidAt(i);
    if (cp >= 0x10000) {
      const v = cp - 0x10000;
      units.push(0xd800 | (v >> 10));
      units.push(0xdc00 | (v & 0x3ff));
    } else {
      units.push(cp);
    }
    i += need + 1;
  }
  return new Utf8Result(true, "", String.fromCharCodes(units));
}

/** Encodes `s` as UTF-8; an unpaired surrogate becomes U+FFFD, as the WHATWG encoders do. */
export function encodeUtf8(s: string): Uint8Array {
  const out = new Array<u8>();
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        cp = 0xfffd;
      }
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      cp = 0xfffd;
    }
    if (cp < 0x80) {
      out.push(<u8>cp);
    } else if (cp < 0x800) {
      out.push(<u8>(0xc0 | (cp >> 6)));
      out.push(<u8>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push(<u8>(0xe0 | (cp >> 12)));
      out.push(<u8>(0x80 | ((cp >> 6) & 0x3f)));
      out.push(<u8>(0x80 | (cp & 0x3f)));
    } else {
      out.push(<u8>(0xf0 | (cp >> 18)));
      out.push(<u8>(0x80 | ((cp >> 12) & 0x3f)));
      out.push(<u8>(0x80 | ((cp >> 6) & 0x3f)));
      out.push(<u8>(0x80 | (cp & 0x3f)));
    }
  }
  const bytes = new Uint8Array(out.length);
  for (let k = 0; k < out.length; k++) bytes[k] = out[k];
  return bytes;
}
