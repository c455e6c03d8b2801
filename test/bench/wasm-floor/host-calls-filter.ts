// The host calls of one altgate cache hit, and nothing else: the same proxy-wasm calls, in the same
// numbers and with values of the same sizes, but none of altgate's logic (no token check, no memo,
// no rules). bench:filter runs it as "Wasm floor + a hit's host calls": what Envoy spends on what
// the contract makes a hit ask of it, so that the rest of the cache hit's cost is altgate's own
// code. test/unit/bench-host-calls.test.ts keeps it in step with the filter.

// @ts-ignore: decorator
@external("env", "proxy_get_header_map_pairs") declare function get_header_map_pairs(map: i32, ptr: usize, size: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_replace_header_map_value") declare function replace_header_map_value(map: i32, key: usize, keySize: usize, value: usize, valueSize: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_remove_header_map_value") declare function remove_header_map_value(map: i32, key: usize, keySize: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_shared_data") declare function get_shared_data(key: usize, keySize: usize, ptr: usize, size: usize, cas: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_define_metric") declare function define_metric(type: u32, name: usize, nameSize: usize, id: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_increment_metric") declare function increment_metric(id: u32, offset: i64): u32;
// @ts-ignore: decorator
@external("env", "proxy_get_current_time_nanoseconds") declare function get_current_time_nanoseconds(ptr: usize): u32;

const REQUEST_HEADERS: i32 = 0;
const COUNTER: u32 = 0;

const outPtr = memory.data(8);
const outSize = memory.data(8);
const outWord = memory.data(8);

// A revoked-set shard key. The bench's feed never answers, so, as for altgate there, the key is missing.
const SHARD_KEY = String.UTF8.encode("altgate/r/s/17");
const AUTHORIZATION = String.UTF8.encode("authorization");
// The seven identity headers with values the size of those the bench's Keycloak token gets.
const NAMES: ArrayBuffer[] = [];
const VALUES: ArrayBuffer[] = [];
let allowed: u32 = 0;
let cacheHits: u32 = 0;

// What Envoy needs to load a filter, as the empty filter has it.
export { malloc, proxy_abi_version_0_2_1, proxy_on_vm_start } from "./empty-filter";

export function proxy_on_configure(_root_context_id: u32, _configuration_size: u32): u32 {
  const fields: string[][] = [
    ["subject", "5f0c2a4e-1b7d-4c55-9e0f-a11ce0000001"],
    ["username", "service-account-altgate-machine"],
    ["client", "altgate-machine"],
    ["roles", "default-roles-altgate,model:invoke,model:read,offline_access,uma_authorization"],
    ["scopes", "email,profile"],
    ["token-kind", "oidc"],
    ["token-id", "onrtcc:7d1e9a7c-0b5f-4a55-8c1e-000000000001"],
  ];
  for (let i = 0; i < fields.length; i++) {
    NAMES.push(String.UTF8.encode("x-altgate-" + fields[i][0]));
    VALUES.push(String.UTF8.encode(fields[i][1]));
  }
  allowed = defineCounter("altgate.requests_allowed");
  cacheHits = defineCounter("altgate.cache_hits");
  return 1;
}

function defineCounter(name: string): u32 {
  const bytes = String.UTF8.encode(name);
  define_metric(COUNTER, changetype<usize>(bytes), bytes.byteLength, outWord);
  return load<u32>(outWord);
}

export function proxy_on_request_headers(_context_id: u32, _headers: u32, _end_of_stream: u32): u32 {
  // The host allocates the pairs through malloc; the stub runtime takes back its last allocation.
  get_header_map_pairs(REQUEST_HEADERS, outPtr, outSize);
  if (load<usize>(outPtr) != 0) heap.free(load<usize>(outPtr));
  get_current_time_nanoseconds(outWord);
  increment_metric(cacheHits, 1);
  if (get_shared_data(changetype<usize>(SHARD_KEY), SHARD_KEY.byteLength, outPtr, outSize, outWord) == 0 && load<usize>(outPtr) != 0) heap.free(load<usize>(outPtr));
  for (let i = 0; i < NAMES.length; i++) {
    const name = unchecked(NAMES[i]);
    const value = unchecked(VALUES[i]);
    replace_header_map_value(REQUEST_HEADERS, changetype<usize>(name), name.byteLength, changetype<usize>(value), value.byteLength);
  }
  remove_header_map_value(REQUEST_HEADERS, changetype<usize>(AUTHORIZATION), AUTHORIZATION.byteLength);
  increment_metric(allowed, 1);
  return 0;
}
