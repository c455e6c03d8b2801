// HMAC-SHA256 (RFC 2104). The key is absorbed once, at construction, into inner and outer
// midstates, so each MAC on the request path costs only the message blocks and two finalisations.
import { Sha256, SHA256_BLOCK_LENGTH } from "./sha256";
import { toHex } from "./hex";

export class HmacSha256 {
  private inner: Sha256 = new Sha256();
  private outer: Sha256 = new Sha256();
  private work: Sha256 = new Sha256();

  constructor(key: Uint8Array) {
    // Keys longer than a block are replaced by their digest (RFC 2104 section 2).
    const k = key.length > SHA256_BLOCK_LENGTH ? this.work.reset().update(key).digest() : key;
    const pad = new Uint8Array(SHA256_BLOCK_LENGTH);
    const kl = k.length;
    for (let i = 0; i < SHA256_BLOCK_LENGTH; i++) unchecked((pad[i] = (i < kl ? unchecked(k[i]) : 0) ^ 0x36));
    this.inner.update(pad);
    // 0x36 ^ 0x5c turns the inner pad into the outer one without keeping the key around.
    for (let i = 0; i < SHA256_BLOCK_LENGTH; i++) unchecked((pad[i] ^= 0x36 ^ 0x5c));
    this.outer.update(pad);
  }

  mac(message: Uint8Array): Uint8Array {
    return this.finish(this.work.copyFrom(this.inner).update(message).digest());
  }

  /** MAC of the UTF-8 encoding of `message` (unpaired surrogates as U+FFFD, like Node). */
  macString(message: string): Uint8Array {
    return this.finish(this.work.copyFrom(this.inner).updateString(message).digest());
  }

  macStringHex(message: string): string {
    return toHex(this.macString(message));
  }

  private finish(innerDigest: Uint8Array): Uint8Array {
    return this.work.copyFrom(this.outer).update(innerDigest).digest();
  }
}

export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return new HmacSha256(key).mac(message);
}
