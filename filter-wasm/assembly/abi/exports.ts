// The module's proxy-wasm exports, dispatching straight to the filter's root and streams. The
// SDK's dispatch was not used: on every stream creation it built debug strings listing every open
// stream (work growing with the number of open streams, even though they were never logged), and
// it aborted the VM on ids it did not know, such as the root's at shutdown.
//
// Callbacks the filter has no use for are not exported: Envoy then does what the SDK's defaults
// did (continue, or nothing) without entering the VM. That includes proxy_on_context_create and
// proxy_on_delete: a request is judged within its one proxy_on_request_headers call, so the stream
// lives only as long as that call, or as long as the root holds it while it waits for an answer.
// Every export here is total: an id it does not know is ignored, so no host call can abort the VM.
import "@gcoredev/proxy-wasm-sdk-as/assembly/runtime";
import { AltgateRoot } from "../filter/root";
import { AltgateStream } from "../filter/stream";

export { malloc } from "./memory";

export function proxy_abi_version_0_2_1(): void {}

// One plugin per VM: the first root id Envoy announces names the root, as in the SDK.
let root: AltgateRoot | null = null;

function rootFor(contextId: u32): AltgateRoot {
  let r = root;
  if (r === null) {
    r = new AltgateRoot(contextId);
    root = r;
  }
  return r;
}

export function proxy_on_vm_start(root_context_id: u32, _vm_configuration_size: u32): u32 {
  rootFor(root_context_id);
  return 1;
}

export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  return rootFor(root_context_id).onConfigure(configuration_size) ? 1 : 0;
}

export function proxy_on_tick(_root_context_id: u32): void {
  const r = root;
  if (r !== null) r.onTick();
}

export function proxy_on_request_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  // A stream before any configuration is still judged (and refused), never let through unexamined.
  return new AltgateStream(context_id, rootFor(0)).onRequestHeaders(headers, end_of_stream != 0);
}

export function proxy_on_http_call_response(_context_id: u32, token: u32, headers: u32, body_size: u32, trailers: u32): void {
  const r = root;
  if (r !== null) r.onHttpCallResponse(token, headers, body_size, trailers);
}
