// Thin, total wrappers over the proxy-wasm host calls the filter uses. The SDK's own helpers abort
// the VM on any unexpected host result (and build debug strings with header values on every call);
// here every call returns a value and the caller decides, so no host answer can kill the VM.
import * as imports from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { free, ReusedBuffer } from "./memory";

export const OK: u32 = 0;
export const NOT_FOUND: u32 = 1;
export const CAS_MISMATCH: u32 = 8;
export const INTERNAL_FAILURE: u32 = 10;

export const REQUEST_HEADERS: i32 = 0;
export const HTTP_CALL_RESPONSE_HEADERS: i32 = 6;

export const BUFFER_HTTP_CALL_RESPONSE_BODY: i32 = 4;
export const BUFFER_PLUGIN_CONFIGURATION: i32 = 7;

export const LOG_TRACE: u32 = 0;
export const LOG_DEBUG: u32 = 1;
export const LOG_INFO: u32 = 2;
export const LOG_WARN: u32 = 3;
export const LOG_ERROR: u32 = 4;
export const LOG_CRITICAL: u32 = 5;

// Out-parameters for host calls that return host-allocated memory.
const outPtr = memory.data(8);
const outSize = memory.data(8);
const outU32 = memory.data(4);
const outU64 = memory.data(8);

/**
 * Takes ownership of a host-allocated region. The host allocates through the exported `malloc`,
 * which hands out a pinned ArrayBuffer of exactly the size asked for: unpinning it makes it an
 * ordinary managed buffer, so nothing is copied. A region of any other size (never seen from
 * Envoy) is copied, so a buffer never claims bytes the host did not write.
 */
function takeBuffer(): ArrayBuffer {
  const ptr = load<usize>(outPtr);
  const size = load<usize>(outSize);
  if (ptr == 0) return new ArrayBuffer(0);
  const adopted = changetype<ArrayBuffer>(ptr);
  if (<usize>adopted.byteLength == size) {
    free(ptr);
    return adopted;
  }
  // Still pinned while the copy is allocated.
  const buf = new ArrayBuffer(<i32>min<usize>(size, <usize>adopted.byteLength));
  memory.copy(changetype<usize>(buf), ptr, <usize>buf.byteLength);
  free(ptr);
  return buf;
}

/**
 * Header bytes as Latin-1, one character per byte: lossless, so a token, path or id containing
 * bytes that are not valid UTF-8 is judged on exactly what arrived (a lenient UTF-8 decoder can
 * drop or rewrite such bytes into characters the grammar would have accepted).
 */
export function latin1(ptr: usize, len: usize): string {
  const out = changetype<usize>(__new(len << 1, idof<String>()));
  for (let i: usize = 0; i < len; i++) store<u16>(out + (i << 1), load<u8>(ptr + i));
  return changetype<string>(out);
}

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
declare function wasi_random_get(buf: usize, len: usize): u16;

/** `n` bytes from the host's random source (Envoy: its CSPRNG), or null when it gives none. */
export function randomBytes(n: i32): Uint8Array | null {
  const out = new Uint8Array(n);
  return wasi_random_get(out.dataStart, <usize>n) == 0 ? out : null;
}

export function log(level: u32, message: string): void {
  const buf = String.UTF8.encode(message);
  imports.proxy_log(level, changetype<usize>(buf), buf.byteLength);
}

export function logLevel(): u32 {
  if (imports.proxy_get_log_level(outU32) != OK) return LOG_INFO;
  return load<u32>(outU32);
}

export function nowMs(): i64 {
  if (imports.proxy_get_current_time_nanoseconds(outU64) != OK) return 0;
  return <i64>(load<u64>(outU64) / 1_000_000);
}

export function getBuffer(type: i32, start: u32, length: u32): ArrayBuffer | null {
  store<usize>(outPtr, 0);
  store<usize>(outSize, 0);
  if (imports.proxy_get_buffer_bytes(type, start, length, outPtr, outSize) != OK) return null;
  return takeBuffer();
}

export function getHeader(map: i32, name: string): string | null {
  const key = String.UTF8.encode(name);
  store<usize>(outPtr, 0);
  store<usize>(outSize, 0);
  if (imports.proxy_get_header_map_value(map, changetype<usize>(key), key.byteLength, outPtr, outSize) != OK) return null;
  const buf = takeBuffer();
  return latin1(changetype<usize>(buf), <usize>buf.byteLength);
}

/**
 * The pairs of a header map, repeated names kept, walked in place: each next() points namePtr/
 * nameLen and valuePtr/valueLen at the next pair's bytes, so nothing is copied that is not asked for.
 * The bytes are in a buffer the VM reuses (memory.ts): a cursor is good until the next headerPairs().
 */
export class HeaderPairCursor {
  namePtr: usize = 0;
  nameLen: usize = 0;
  valuePtr: usize = 0;
  valueLen: usize = 0;
  private index: u32 = 0;
  private count: u32 = 0;
  private data: usize = 0;
  private end: usize = 0;

  constructor(
    private readonly base: usize,
    size: usize,
    /** False when the host would not hand the pairs over: the request cannot be judged. */
    readonly readable: bool,
  ) {
    const count = size < 4 ? 0 : load<u32>(base);
    // Layout: count, then (name length, value length) per pair, then each NUL-terminated name and value.
    if (<u64>count * 8 + 4 <= <u64>size) {
      this.count = count;
      this.data = base + 4 + <usize>count * 8;
      this.end = base + size;
    }
  }

  /** False once every pair has been seen, or at the first pair the buffer is too short for. */
  next(): bool {
    if (this.index >= this.count) return false;
    const base = this.base;
    const nameLen = <usize>load<u32>(base + 4 + <usize>this.index * 8);
    const valueLen = <usize>load<u32>(base + 8 + <usize>this.index * 8);
    const data = this.data;
    if (<u64>data + <u64>nameLen + 1 + <u64>valueLen + 1 > <u64>this.end) {
      this.index = this.count;
      return false;
    }
    this.index++;
    this.namePtr = data;
    this.nameLen = nameLen;
    this.valuePtr = data + nameLen + 1;
    this.valueLen = valueLen;
    this.data = data + nameLen + 1 + valueLen + 1;
    return true;
  }
}

const HEADER_PAIRS = new ReusedBuffer(4096);

/** The pairs of a header map. An empty map is readable and has none. */
export function headerPairs(map: i32): HeaderPairCursor {
  store<usize>(outPtr, 0);
  store<usize>(outSize, 0);
  HEADER_PAIRS.arm();
  const status = imports.proxy_get_header_map_pairs(map, outPtr, outSize);
  if (!HEADER_PAIRS.landed(load<usize>(outPtr), load<usize>(outSize)) || status != OK) return new HeaderPairCursor(0, 0, false);
  return new HeaderPairCursor(HEADER_PAIRS.start, HEADER_PAIRS.length, true);
}

// The header changes answer the host's status: the filter must not pass on a request it could not change.

/** Removes the header named by exactly these bytes (as read from the map), every value of it. */
export function removeHeaderBytes(map: i32, namePtr: usize, nameLen: usize): u32 {
  return imports.proxy_remove_header_map_value(map, namePtr, nameLen);
}

const AUTHORIZATION = String.UTF8.encode("authorization");

/** Removes every Authorization header. */
export function removeAuthorization(map: i32): u32 {
  return imports.proxy_remove_header_map_value(map, changetype<usize>(AUTHORIZATION), AUTHORIZATION.byteLength);
}

/** Sets a header from bytes already in the host's encoding (prepared once, reused per request). */
export function replaceHeaderBytes(map: i32, name: ArrayBuffer, value: ArrayBuffer): u32 {
  return imports.proxy_replace_header_map_value(map, changetype<usize>(name), name.byteLength, changetype<usize>(value), value.byteLength);
}

/** Serialises header pairs in the ABI's pair layout for send_local_response and http_call. */
export function serializePairs(names: string[], values: string[]): ArrayBuffer {
  const n = min(names.length, values.length);
  const encodedNames = new Array<ArrayBuffer>(n);
  const encodedValues = new Array<ArrayBuffer>(n);
  let size = 4 + 8 * n;
  for (let i = 0; i < n; i++) {
    const k = String.UTF8.encode(unchecked(names[i]));
    const v = String.UTF8.encode(unchecked(values[i]));
    unchecked((encodedNames[i] = k));
    unchecked((encodedValues[i] = v));
    size += k.byteLength + 1 + v.byteLength + 1;
  }
  const out = new ArrayBuffer(size);
  const base = changetype<usize>(out);
  store<u32>(base, <u32>n);
  let data = base + 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const k = unchecked(encodedNames[i]);
    const v = unchecked(encodedValues[i]);
    store<u32>(base + 4 + <usize>i * 8, <u32>k.byteLength);
    store<u32>(base + 8 + <usize>i * 8, <u32>v.byteLength);
    memory.copy(data, changetype<usize>(k), k.byteLength);
    data += <usize>k.byteLength;
    store<u8>(data, 0);
    data += 1;
    memory.copy(data, changetype<usize>(v), v.byteLength);
    data += <usize>v.byteLength;
    store<u8>(data, 0);
    data += 1;
  }
  return out;
}

export function sendLocalResponse(status: u32, details: string, body: string, names: string[], values: string[]): u32 {
  const d = String.UTF8.encode(details);
  const b = String.UTF8.encode(body);
  const h = serializePairs(names, values);
  return imports.proxy_send_local_response(
    status, changetype<usize>(d), d.byteLength, changetype<usize>(b), b.byteLength, changetype<usize>(h), h.byteLength, -1,
  );
}

export function continueRequest(): u32 {
  return imports.proxy_continue_stream(0);
}

export class HttpCallResult {
  constructor(readonly status: u32, readonly token: u32) {}
}

export function httpCall(cluster: string, names: string[], values: string[], body: string, timeoutMs: u32): HttpCallResult {
  const c = String.UTF8.encode(cluster);
  const h = serializePairs(names, values);
  const b = String.UTF8.encode(body);
  const t = serializePairs([], []);
  store<u32>(outU32, 0);
  const status = imports.proxy_http_call(
    changetype<usize>(c), c.byteLength, changetype<usize>(h), h.byteLength, changetype<usize>(b), b.byteLength,
    changetype<usize>(t), t.byteLength, timeoutMs, outU32,
  );
  return new HttpCallResult(status, load<u32>(outU32));
}

export function setEffectiveContext(contextId: u32): u32 {
  return imports.proxy_set_effective_context(contextId);
}

export class SharedValue {
  constructor(readonly status: u32, readonly value: ArrayBuffer | null, readonly cas: u32) {}
}

export function getShared(key: string): SharedValue {
  const k = String.UTF8.encode(key);
  return readShared(changetype<usize>(k), <usize>k.byteLength);
}

function readShared(key: usize, keyLength: usize): SharedValue {
  store<usize>(outPtr, 0);
  store<usize>(outSize, 0);
  store<u32>(outU32, 0);
  const status = imports.proxy_get_shared_data(key, keyLength, outPtr, outSize, outU32);
  if (status != OK) return new SharedValue(status, null, 0);
  const cas = load<u32>(outU32);
  return new SharedValue(status, takeBuffer(), cas);
}

// Keys of the form <ASCII prefix><decimal index> are assembled here, so that the reads every
// request makes (its cache bucket, its revoked-set shard) allocate no key strings.
const keyScratch = memory.data(64);

/** getShared(prefix + index.toString()) for an ASCII `prefix` of under 50 characters. */
export function getSharedIndexed(prefix: string, index: u32): SharedValue {
  const keyLength = indexedKey(prefix, index);
  return readShared(keyScratch, keyLength);
}

/**
 * getSharedIndexed with the value read into `into` (its `start` and `length`; length 0 for an
 * empty value). Returns the host's status; an answer that did not land there is InternalFailure.
 */
export function readSharedIndexedInto(into: ReusedBuffer, prefix: string, index: u32): u32 {
  const keyLength = indexedKey(prefix, index);
  store<usize>(outPtr, 0);
  store<usize>(outSize, 0);
  into.arm();
  const status = imports.proxy_get_shared_data(keyScratch, keyLength, outPtr, outSize, outU32);
  return into.landed(load<usize>(outPtr), load<usize>(outSize)) ? status : INTERNAL_FAILURE;
}

/** Writes prefix + index.toString() into keyScratch; returns its length. */
function indexedKey(prefix: string, index: u32): usize {
  let len = <usize>min(prefix.length, 50);
  for (let i: usize = 0; i < len; i++) store<u8>(keyScratch + i, <u8>load<u16>(changetype<usize>(prefix) + (i << 1)));
  let digits: usize = 1;
  for (let v = index; v >= 10; v /= 10) digits++;
  let v = index;
  for (let i = digits; i > 0; i--) {
    store<u8>(keyScratch + len + i - 1, <u8>(0x30 + v % 10));
    v /= 10;
  }
  return len + digits;
}

export function setShared(key: string, value: ArrayBuffer, cas: u32): u32 {
  const k = String.UTF8.encode(key);
  return imports.proxy_set_shared_data(changetype<usize>(k), k.byteLength, changetype<usize>(value), value.byteLength, cas);
}

export function setTickPeriod(ms: u32): void {
  imports.proxy_set_tick_period_milliseconds(ms);
}

export const METRIC_COUNTER: i32 = 0;
export const METRIC_GAUGE: i32 = 1;

/** Defines a metric; 0 (never a valid id in Envoy, which starts ids elsewhere) marks a failure. */
export function defineMetric(type: i32, name: string): u32 {
  const n = String.UTF8.encode(name);
  store<u32>(outU32, 0);
  if (imports.proxy_define_metric(type, changetype<usize>(n), n.byteLength, outU32) != OK) return 0;
  return load<u32>(outU32);
}

export function incrementMetric(id: u32, by: i64): void {
  if (id != 0) imports.proxy_increment_metric(id, by);
}

export function recordMetric(id: u32, value: u64): void {
  if (id != 0) imports.proxy_record_metric(id, value);
}
