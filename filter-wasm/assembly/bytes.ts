// Bounds-checked little-endian reads and writes for the binary values kept in shared data. Shared
// data can hold anything (an older filter version, another plugin on the same vm_id), so every
// access is checked: out of range, a read yields 0 and a write does nothing, and `ok` turns false.

export class ByteReader {
  ok: bool = true;
  private pos: i32 = 0;

  constructor(private data: Uint8Array) {}

  remaining(): i32 {
    return this.data.length - this.pos;
  }

  /** True when everything was read and nothing went out of range. */
  done(): bool {
    return this.ok && this.pos == this.data.length;
  }

  u8(): u32 {
    if (!this.claim(1)) return 0;
    return load<u8>(this.data.dataStart + <usize>(this.pos - 1));
  }

  u16(): u32 {
    if (!this.claim(2)) return 0;
    return load<u16>(this.data.dataStart + <usize>(this.pos - 2));
  }

  i64(): i64 {
    if (!this.claim(8)) return 0;
    return load<i64>(this.data.dataStart + <usize>(this.pos - 8));
  }

  /** A view of the next `n` bytes (no copy). */
  view(n: i32): Uint8Array {
    if (!this.claim(n)) return new Uint8Array(0);
    return this.data.subarray(this.pos - n, this.pos);
  }

  /** A string written by ByteWriter.string16. Invalid UTF-8 still decodes (leniently, never failing). */
  string16(): string {
    const n = <i32>this.u16();
    if (!this.claim(n)) return "";
    return String.UTF8.decodeUnsafe(this.data.dataStart + <usize>(this.pos - n), <usize>n);
  }

  private claim(n: i32): bool {
    if (!this.ok || n < 0 || n > this.remaining()) {
      this.ok = false;
      return false;
    }
    this.pos += n;
    return true;
  }
}

/** Writes into a buffer of a size computed beforehand; `done()` confirms the size was right. */
export class ByteWriter {
  ok: bool = true;
  readonly data: Uint8Array;
  private pos: i32 = 0;

  constructor(size: i32) {
    this.data = new Uint8Array(max(size, 0));
  }

  done(): bool {
    return this.ok && this.pos == this.data.length;
  }

  u8(v: u32): void {
    if (this.claim(1)) store<u8>(this.data.dataStart + <usize>(this.pos - 1), <u8>v);
  }

  u16(v: u32): void {
    if (this.claim(2)) store<u16>(this.data.dataStart + <usize>(this.pos - 2), <u16>v);
  }

  i64(v: i64): void {
    if (this.claim(8)) store<i64>(this.data.dataStart + <usize>(this.pos - 8), v);
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    if (this.claim(n)) memory.copy(this.data.dataStart + <usize>(this.pos - n), b.dataStart, <usize>n);
  }

  /**
   * A u16 byte length, then `s` as UTF-8; WTF-8 for unpaired surrogates, so string16() reads back
   * the very same string. Takes string16Size(s) bytes; a string of over 65535 bytes fails.
   */
  string16(s: string): void {
    const n = String.UTF8.byteLength(s);
    if (n > 0xffff) {
      this.ok = false;
      return;
    }
    this.u16(<u32>n);
    if (this.claim(n)) String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, this.data.dataStart + <usize>(this.pos - n));
  }

  private claim(n: i32): bool {
    if (!this.ok || n < 0 || n > this.data.length - this.pos) {
      this.ok = false;
      return false;
    }
    this.pos += n;
    return true;
  }
}

export function string16Size(s: string): i32 {
  return 2 + String.UTF8.byteLength(s);
}
