// SHA-256 (FIPS 180-4). Hand-written because no SHA-256 with AssemblyScript sources exists for
// AssemblyScript 0.28; test/sha256.test.ts holds it to the NIST vectors and to Node's crypto.
import { toHex } from "./hex";

export const SHA256_DIGEST_LENGTH: i32 = 32;
export const SHA256_BLOCK_LENGTH: i32 = 64;

const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/**
 * Incremental SHA-256. `digest()` finalises; call `reset()` (or `copyFrom`) before reusing.
 * HMAC keeps keyed midstates in instances of this class and restores them with `copyFrom`.
 */
export class Sha256 {
  private state: StaticArray<u32> = new StaticArray<u32>(8);
  private w: StaticArray<u32> = new StaticArray<u32>(64);
  private block: StaticArray<u8> = new StaticArray<u8>(SHA256_BLOCK_LENGTH);
  private fill: i32 = 0;
  private total: u64 = 0;

  constructor() {
    this.reset();
  }

  reset(): Sha256 {
    const s = this.state;
    unchecked((s[0] = 0x6a09e667));
    unchecked((s[1] = 0xbb67ae85));
    unchecked((s[2] = 0x3c6ef372));
    unchecked((s[3] = 0xa54ff53a));
    unchecked((s[4] = 0x510e527f));
    unchecked((s[5] = 0x9b05688c));
    unchecked((s[6] = 0x1f83d9ab));
    unchecked((s[7] = 0x5be0cd19));
    this.fill = 0;
    this.total = 0;
    return this;
  }

  copyFrom(other: Sha256): Sha256 {
    memory.copy(changetype<usize>(this.state), changetype<usize>(other.state), 32);
    memory.copy(changetype<usize>(this.block), changetype<usize>(other.block), SHA256_BLOCK_LENGTH);
    this.fill = other.fill;
    this.total = other.total;
    return this;
  }

  update(data: Uint8Array): Sha256 {
    this.updateRaw(data.dataStart, data.length);
    return this;
  }

  updateBuffer(data: ArrayBuffer): Sha256 {
    this.updateRaw(changetype<usize>(data), data.byteLength);
    return this;
  }

  /**
   * Feeds the UTF-8 encoding of `s` without materialising it. An unpaired surrogate is encoded as
   * U+FFFD, as Node's Buffer.from(s) and TextEncoder do, so the server computes the same digest.
   */
  updateString(s: string): Sha256 {
    const len = s.length;
    const p = changetype<usize>(s);
    const block = changetype<usize>(this.block);
    let i = 0;
    while (i < len) {
      // Tokens are ASCII: runs of it go straight into the block, compressed whenever it fills.
      const run = min(SHA256_BLOCK_LENGTH - this.fill, len - i);
      const dst = block + <usize>this.fill;
      let k = 0;
      while (k < run) {
        const a = <u32>load<u16>(p + (<usize>(i + k) << 1));
        if (a >= 0x80) break;
        store<u8>(dst + <usize>k, <u8>a);
        k++;
      }
      i += k;
      this.fill += k;
      this.total += <u64>k;
      if (this.fill == SHA256_BLOCK_LENGTH) {
        this.compress(block);
        this.fill = 0;
      }
      if (k == run) continue;
      let c = <u32>load<u16>(p + (<usize>i << 1));
      i++;
      if (c < 0x800) {
        this.pushByte(0xc0 | (c >> 6));
        this.pushByte(0x80 | (c & 0x3f));
        continue;
      }
      if ((c & 0xf800) == 0xd800) {
        const next = i < len ? <u32>load<u16>(p + (<usize>i << 1)) : 0;
        if (c < 0xdc00 && (next & 0xfc00) == 0xdc00) {
          i++;
          c = 0x10000 + ((c & 0x3ff) << 10) + (next & 0x3ff);
          this.pushByte(0xf0 | (c >> 18));
          this.pushByte(0x80 | ((c >> 12) & 0x3f));
          this.pushByte(0x80 | ((c >> 6) & 0x3f));
          this.pushByte(0x80 | (c & 0x3f));
          continue;
        }
        c = 0xfffd;
      }
      this.pushByte(0xe0 | (c >> 12));
      this.pushByte(0x80 | ((c >> 6) & 0x3f));
      this.pushByte(0x80 | (c & 0x3f));
    }
    return this;
  }

  digest(): Uint8Array {
    const bits = this.total << 3;
    this.pushByte(0x80);
    while (this.fill != 56) this.pushByte(0);
    for (let shift: i32 = 56; shift >= 0; shift -= 8) this.pushByte(<u32>(bits >> shift) & 0xff);
    const out = new Uint8Array(SHA256_DIGEST_LENGTH);
    const dst = out.dataStart;
    for (let i = 0; i < 8; i++) store<u32>(dst + (<usize>i << 2), bswap<u32>(unchecked(this.state[i])));
    return out;
  }

  /** Feeds the `len` bytes at `ptr`, such as a header value read in place. */
  updateRaw(ptr: usize, len: i32): void {
    let i = 0;
    while (i < len && this.fill != 0) {
      this.pushByte(load<u8>(ptr + <usize>i));
      i++;
    }
    // Whole blocks are compressed in place; only the tail is copied into the block buffer.
    while (len - i >= SHA256_BLOCK_LENGTH) {
      this.compress(ptr + <usize>i);
      this.total += <u64>SHA256_BLOCK_LENGTH;
      i += SHA256_BLOCK_LENGTH;
    }
    while (i < len) {
      this.pushByte(load<u8>(ptr + <usize>i));
      i++;
    }
  }

  @inline private pushByte(b: u32): void {
    // `fill` stays in [0, 64): it is reset to 0 the moment it reaches 64.
    store<u8>(changetype<usize>(this.block) + <usize>this.fill, <u8>b);
    this.fill++;
    this.total++;
    if (this.fill == SHA256_BLOCK_LENGTH) {
      this.compress(changetype<usize>(this.block));
      this.fill = 0;
    }
  }

  /** One compression round over the 64 bytes at `p` (the caller guarantees they exist). */
  private compress(p: usize): void {
    const w = this.w;
    for (let t = 0; t < 16; t++) unchecked((w[t] = bswap<u32>(load<u32>(p + (<usize>t << 2)))));
    for (let t = 16; t < 64; t++) {
      const w15 = unchecked(w[t - 15]);
      const w2 = unchecked(w[t - 2]);
      const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >> 3);
      const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >> 10);
      unchecked((w[t] = unchecked(w[t - 16]) + s0 + unchecked(w[t - 7]) + s1));
    }
    const s = this.state;
    let a = unchecked(s[0]), b = unchecked(s[1]), c = unchecked(s[2]), d = unchecked(s[3]);
    let e = unchecked(s[4]), f = unchecked(s[5]), g = unchecked(s[6]), h = unchecked(s[7]);
    // Eight rounds per iteration, the variables' roles rotating in the code rather than their
    // values moving between them.
    const kp = changetype<usize>(K);
    const wp = changetype<usize>(w);
    for (let t: usize = 0; t < 256; t += 32) {
      h += S1(e) + ch(e, f, g) + load<u32>(kp + t) + load<u32>(wp + t);
      d += h;
      h += S0(a) + maj(a, b, c);
      g += S1(d) + ch(d, e, f) + load<u32>(kp + t, 4) + load<u32>(wp + t, 4);
      c += g;
      g += S0(h) + maj(h, a, b);
      f += S1(c) + ch(c, d, e) + load<u32>(kp + t, 8) + load<u32>(wp + t, 8);
      b += f;
      f += S0(g) + maj(g, h, a);
      e += S1(b) + ch(b, c, d) + load<u32>(kp + t, 12) + load<u32>(wp + t, 12);
      a += e;
      e += S0(f) + maj(f, g, h);
      d += S1(a) + ch(a, b, c) + load<u32>(kp + t, 16) + load<u32>(wp + t, 16);
      h += d;
      d += S0(e) + maj(e, f, g);
      c += S1(h) + ch(h, a, b) + load<u32>(kp + t, 20) + load<u32>(wp + t, 20);
      g += c;
      c += S0(d) + maj(d, e, f);
      b += S1(g) + ch(g, h, a) + load<u32>(kp + t, 24) + load<u32>(wp + t, 24);
      f += b;
      b += S0(c) + maj(c, d, e);
      a += S1(f) + ch(f, g, h) + load<u32>(kp + t, 28) + load<u32>(wp + t, 28);
      e += a;
      a += S0(b) + maj(b, c, d);
    }
    unchecked((s[0] += a));
    unchecked((s[1] += b));
    unchecked((s[2] += c));
    unchecked((s[3] += d));
    unchecked((s[4] += e));
    unchecked((s[5] += f));
    unchecked((s[6] += g));
    unchecked((s[7] += h));
  }
}

// @ts-ignore: decorator
@inline function S0(x: u32): u32 {
  return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22);
}

// @ts-ignore: decorator
@inline function S1(x: u32): u32 {
  return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25);
}

// @ts-ignore: decorator
@inline function ch(x: u32, y: u32, z: u32): u32 {
  return (x & y) ^ (~x & z);
}

// @ts-ignore: decorator
@inline function maj(x: u32, y: u32, z: u32): u32 {
  return (x & y) ^ (x & z) ^ (y & z);
}

// The filter is single-threaded and hashing never re-enters, so one-shot helpers share a hasher.
const shared = new Sha256();

export function sha256(data: Uint8Array): Uint8Array {
  return shared.reset().update(data).digest();
}

export function sha256Buffer(data: ArrayBuffer): Uint8Array {
  return shared.reset().updateBuffer(data).digest();
}

/** SHA-256 of the `len` bytes at `ptr`. */
export function sha256At(ptr: usize, len: i32): Uint8Array {
  shared.reset().updateRaw(ptr, len);
  return shared.digest();
}

/** SHA-256 of the UTF-8 encoding of `s` (unpaired surrogates as U+FFFD, like Node). */
export function sha256String(s: string): Uint8Array {
  return shared.reset().updateString(s).digest();
}

export function sha256Hex(data: Uint8Array): string {
  return toHex(sha256(data));
}

export function sha256StringHex(s: string): string {
  return toHex(sha256String(s));
}
