// The module's allocator for the host. Envoy writes every answer that has a size (header pairs,
// shared data, buffers) into memory it asks the module for through the exported `malloc`.
//
// Normally each answer gets a pinned ArrayBuffer of exactly its size, which the reader adopts by
// unpinning it (see takeBuffer in host.ts). The answers every request asks for and reads only on
// the spot (its header pairs, its revoked-set shard) go instead into buffers this VM reuses: a
// request then leaves no kilobytes of garbage behind for the collector, however many headers it
// has or however large the revoked set grows.

/**
 * A buffer the host's next allocation can be directed into, grown when an answer is larger. Its
 * bytes are good until it is armed again.
 */
export class ReusedBuffer {
  private buffer: ArrayBuffer;
  /** Where the last answer landed, and its length; 0 and 0 when the host sent nothing. */
  start: usize = 0;
  length: usize = 0;

  constructor(initialSize: i32) {
    this.buffer = new ArrayBuffer(initialSize);
  }

  /**
   * Directs the host's next allocation here. The caller calls landed() right after its one host
   * call (the host allocates nothing for an empty answer), so no other answer can land here.
   */
  arm(): void {
    armed = this;
    this.start = 0;
    this.length = 0;
  }

  /** Disarms; false when the host put a non-empty answer anywhere but here. */
  landed(ptr: usize, size: usize): bool {
    armed = null;
    if (size == 0) return true;
    if (ptr != changetype<usize>(this.buffer) || size > <usize>this.buffer.byteLength) return false;
    this.start = ptr;
    this.length = size;
    return true;
  }

  grant(size: i32): usize {
    if (size > this.buffer.byteLength) this.buffer = new ArrayBuffer(size);
    return changetype<usize>(this.buffer);
  }
}

let armed: ReusedBuffer | null = null;

/** The host's allocation: the armed reused buffer, or else a pinned buffer of `size` bytes. */
export function malloc(size: i32): usize {
  const into = armed;
  if (into !== null) {
    armed = null;
    return into.grant(size);
  }
  return __pin(changetype<usize>(new ArrayBuffer(size)));
}

/** Hands a pinned buffer from `malloc` over to the collector. */
export function free(ptr: usize): void {
  __unpin(ptr);
}
