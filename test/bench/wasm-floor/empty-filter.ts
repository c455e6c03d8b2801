// The cheapest proxy-wasm HTTP filter there is: it exports what Envoy needs to load it and lets
// every request through untouched. bench:filter runs it as the "Wasm floor": what any Wasm filter
// costs in Envoy's V8 before it does any work, so the rest of altgate's cost is altgate's own.
export function proxy_abi_version_0_2_1(): void {}

export function malloc(size: usize): usize {
  return heap.alloc(size);
}

export function proxy_on_vm_start(_root_context_id: u32, _vm_configuration_size: u32): u32 {
  return 1;
}

export function proxy_on_configure(_root_context_id: u32, _configuration_size: u32): u32 {
  return 1;
}

export function proxy_on_request_headers(_context_id: u32, _headers: u32, _end_of_stream: u32): u32 {
  return 0;
}
