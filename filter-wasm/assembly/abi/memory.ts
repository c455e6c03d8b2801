// The module's allocator for the host. Envoy writes every answer that has a size (header pairs,
// shared data, buffers) into memory it asks the module for through the exported `malloc`.
//
// Normally each answer gets a pinned ArrayBuffer of exactly its size, which the reader adopts by
// unpinning it (see takeBuffer in host.ts). The request's header pairs, read on every request and
// read only while that request's headers are walked, go instead into one buffer this VM reuses:
// a request then leaves no 1–2 KiB of garbage behind for the collector.

let scratch = new ArrayBuffer(4096);
let nextIntoScratch = false;

/** The host's allocation: a pinned buffer of `size` bytes, or the scratch buffer when armed. */
export function malloc(size: i32): usize {
  if (nextIntoScratch) {
    nextIntoScratch = false;
    if (size > scratch.byteLength) scratch = new ArrayBuffer(size);
    return changetype<usize>(scratch);
  }
  return __pin(changetype<usize>(new ArrayBuffer(size)));
}

/** Hands a pinned buffer from `malloc` over to the collector. */
export function free(ptr: usize): void {
  __unpin(ptr);
}

/**
 * Arms the scratch buffer for the host's next allocation. The caller disarms it right after its
 * one host call (the host allocates nothing for an empty answer), so no other answer can land in
 * it, and reads what landed there before arming it again.
 */
export function armScratch(): void {
  nextIntoScratch = true;
}

/** Disarms; true when `ptr` is the scratch buffer and `size` fits in it. */
export function landedInScratch(ptr: usize, size: usize): bool {
  nextIntoScratch = false;
  return ptr == changetype<usize>(scratch) && size <= <usize>scratch.byteLength;
}
