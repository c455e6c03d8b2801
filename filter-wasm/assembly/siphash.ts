// SipHash-2-4 with a 128-bit tag (Aumasson and Bernstein; the reference implementation's
// siphash.c with outlen 16). A keyed PRF: without the key, nobody can produce two inputs with the
// same tag, which is what lets a worker recognise a token it has seen by the tag alone. Hand-written
// for the same reason as sha256.ts; test/siphash.test.ts holds it to the reference vectors.

// @ts-ignore: decorator
@inline function rotl(x: u64, b: u64): u64 {
  return (x << b) | (x >> (64 - b));
}

/**
 * The tag of the `len` bytes at `ptr` under the key (k0, k1) (the key's two little-endian halves),
 * written to `out` as 16 bytes in the reference implementation's order.
 */
export function sipHash128(k0: u64, k1: u64, ptr: usize, len: i32, out: usize): void {
  let v0: u64 = 0x736f6d6570736575 ^ k0;
  let v1: u64 = 0x646f72616e646f6d ^ k1 ^ 0xee;
  let v2: u64 = 0x6c7967656e657261 ^ k0;
  let v3: u64 = 0x7465646279746573 ^ k1;
  const whole = len & ~7;
  // Every whole 8-byte word, then the last word: the tail bytes and the length's low byte on top.
  for (let i = 0; i <= whole; i += 8) {
    let m: u64;
    if (i < whole) m = load<u64>(ptr + <usize>i);
    else {
      m = <u64>(len & 0xff) << 56;
      for (let j = whole; j < len; j++) m |= <u64>load<u8>(ptr + <usize>j) << (<u64>(j - whole) << 3);
    }
    v3 ^= m;
    for (let r = 0; r < 2; r++) {
      v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
      v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
      v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
      v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
    }
    v0 ^= m;
  }
  // Finalisation: four rounds before each 8-byte half of the tag.
  v2 ^= 0xee;
  for (let half: usize = 0; half < 16; half += 8) {
    for (let r = 0; r < 4; r++) {
      v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
      v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
      v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
      v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
    }
    store<u64>(out + half, v0 ^ v1 ^ v2 ^ v3);
    v1 ^= 0xdd;
  }
}
