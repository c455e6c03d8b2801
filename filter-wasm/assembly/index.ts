export * from "@gcoredev/proxy-wasm-sdk-as/assembly/proxy";
import {
  RootContext,
  Context,
  Counter,
  registerRootContext,
  FilterHeadersStatusValues,
  stream_context,
  send_http_response,
  makeHeaderPair,
  Headers,
} from "@gcoredev/proxy-wasm-sdk-as/assembly";

class AltgateRoot extends RootContext {
  allowed: Counter | null = null;
  denied: Counter | null = null;

  onConfigure(configuration_size: u32): bool {
    super.onConfigure(configuration_size);
    this.allowed = new Counter("altgate.requests_allowed");
    this.denied = new Counter("altgate.requests_denied");
    return true;
  }

  createContext(context_id: u32): Context {
    return new AltgateHttp(context_id, this);
  }
}

/** Request ids are echoed inside JSON; anything but a plain token-like id is dropped, not escaped. */
function safeRequestId(id: string): string {
  if (id.length > 128) return "";
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45;
    if (!ok) return "";
  }
  return id;
}

class AltgateHttp extends Context {
  constructor(context_id: u32, readonly root: AltgateRoot) {
    super(context_id, root);
  }

  onRequestHeaders(_headers: u32, _end_of_stream: bool): FilterHeadersStatusValues {
    const authorization = stream_context.headers.request.get("authorization");
    if (!authorization.toLowerCase().startsWith("bearer ")) {
      const denied = this.root.denied;
      if (denied) denied.increment(1);
      const requestId = safeRequestId(stream_context.headers.request.get("x-request-id"));
      const headers: Headers = [];
      headers.push(makeHeaderPair("content-type", "application/json"));
      headers.push(makeHeaderPair("www-authenticate", 'Bearer realm="altgate"'));
      const body =
        '{"error":"invalid_token","error_description":"a bearer token is required","request_id":"' + requestId + '"}';
      send_http_response(401, "altgate_missing_token", String.UTF8.encode(body), headers);
      return FilterHeadersStatusValues.StopIteration;
    }
    const allowed = this.root.allowed;
    if (allowed) allowed.increment(1);
    stream_context.headers.request.replace("x-altgate-filter", "altgate");
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((context_id: u32) => new AltgateRoot(context_id), "altgate");
