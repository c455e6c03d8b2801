// Lowercase hexadecimal, written straight into a new string: digests are rendered on every
// request (cache keys, signatures), and going through an intermediate array would allocate twice.
export function toHex(bytes: Uint8Array): string {
  const len = bytes.length;
  const out = changetype<string>(__new(<usize>len << 2, idof<string>()));
  const src = bytes.dataStart;
  const dst = changetype<usize>(out);
  for (let i = 0; i < len; i++) {
    const b = <u32>load<u8>(src + <usize>i);
    store<u16>(dst + (<usize>i << 2), hexDigit(b >> 4));
    store<u16>(dst + (<usize>i << 2) + 2, hexDigit(b & 0xf));
  }
  return out;
}

/** The lowercase hex digit of `nibble & 0xf`. */
// @ts-ignore: decorator
@inline
export function hexDigit(nibble: u32): u16 {
  const n = nibble & 0xf;
  return <u16>(n < 10 ? 0x30 + n : 0x57 + n);
}

/** The uppercase hex digit of `nibble & 0xf` (RFC 3986 2.1 prefers uppercase in percent-encoding). */
// @ts-ignore: decorator
@inline
export function hexDigitUpper(nibble: u32): u16 {
  const n = nibble & 0xf;
  return <u16>(n < 10 ? 0x30 + n : 0x37 + n);
}
