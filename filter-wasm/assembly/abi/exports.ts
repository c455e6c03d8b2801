// The module's proxy-wasm exports: the SDK's, except proxy_on_done and proxy_on_delete. The SDK
// looks every context up in a map that never holds the root context, so Envoy's shutdown calls for
// the root (and any id it does not know) abort the VM. These versions ignore ids they do not own.
export {
  malloc,
  proxy_abi_version_0_2_1,
  proxy_on_vm_start,
  proxy_validate_configuration,
  proxy_on_configure,
  proxy_on_tick,
  proxy_on_foreign_function,
  proxy_on_queue_ready,
  proxy_on_context_create,
  proxy_on_request_headers,
  proxy_on_request_body,
  proxy_on_request_trailers,
  proxy_on_request_metadata,
  proxy_on_response_headers,
  proxy_on_response_body,
  proxy_on_response_trailers,
  proxy_on_response_metadata,
  proxy_on_http_call_response,
  proxy_on_grpc_receive_initial_metadata,
  proxy_on_grpc_trailing_metadata,
  proxy_on_grpc_receive,
  proxy_on_grpc_close,
  proxy_on_downstream_data,
  proxy_on_upstream_data,
  proxy_on_upstream_connection_close,
  proxy_on_downstream_connection_close,
  proxy_on_new_connection,
  proxy_on_log,
} from "@gcoredev/proxy-wasm-sdk-as/assembly/proxy";
import { deleteContext } from "@gcoredev/proxy-wasm-sdk-as/assembly/runtime";

const liveStreams = new Set<u32>();

export function trackStream(contextId: u32): void {
  liveStreams.add(contextId);
}

/** Streams have nothing to flush and the root keeps no buffered state: done at once. */
export function proxy_on_done(_context_id: u32): u32 {
  return 1;
}

export function proxy_on_delete(context_id: u32): void {
  if (!liveStreams.has(context_id)) return;
  liveStreams.delete(context_id);
  deleteContext(context_id);
}
