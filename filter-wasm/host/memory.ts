import type { WasmMemory } from "./wasm-api.ts";

/** A pointer/size pair outside linear memory, or an allocation the module could not make. */
export class MemoryFault extends Error {}

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/**
 * Reads and writes a module's linear memory. Views are made per access because a call back into
 * the module (malloc) may grow the memory and detach any earlier ArrayBuffer.
 */
export class ModuleMemory {
  constructor(
    private readonly memory: WasmMemory,
    private readonly allocate: (size: number) => number,
  ) {}

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Copies `size` bytes at `ptr`; pointers arrive as signed i32 and are read as unsigned. */
  read(ptr: number, size: number): Uint8Array {
    const start = ptr >>> 0;
    const length = size >>> 0;
    this.check(start, length);
    return new Uint8Array(this.memory.buffer, start, length).slice();
  }

  readString(ptr: number, size: number): string {
    return decodeUtf8(this.read(ptr, size));
  }

  write(ptr: number, bytes: Uint8Array): void {
    const start = ptr >>> 0;
    this.check(start, bytes.length);
    new Uint8Array(this.memory.buffer, start, bytes.length).set(bytes);
  }

  writeU32(ptr: number, value: number): void {
    const start = ptr >>> 0;
    this.check(start, 4);
    new DataView(this.memory.buffer).setUint32(start, value >>> 0, true);
  }

  writeU64(ptr: number, value: bigint): void {
    const start = ptr >>> 0;
    this.check(start, 8);
    new DataView(this.memory.buffer).setBigUint64(start, BigInt.asUintN(64, value), true);
  }

  /**
   * Envoy's copyToPointerSize: the bytes go into a buffer the module allocates with its own
   * malloc, and the buffer's address and size are written at `ptrPtr` and `sizePtr`. Nothing is
   * allocated for empty data; the module then sees address 0 and size 0.
   */
  copyOut(bytes: Uint8Array, ptrPtr: number, sizePtr: number): void {
    let address = 0;
    if (bytes.length > 0) {
      address = this.allocate(bytes.length) >>> 0;
      if (address === 0) throw new MemoryFault(`module malloc(${bytes.length}) returned 0`);
      this.write(address, bytes);
    }
    this.writeU32(ptrPtr, address);
    this.writeU32(sizePtr, bytes.length);
  }

  private check(start: number, length: number): void {
    if (start + length > this.memory.buffer.byteLength) {
      throw new MemoryFault(`memory access [${start}, +${length}) outside ${this.memory.buffer.byteLength} bytes`);
    }
  }
}
