export * from "@gcoredev/proxy-wasm-sdk-as/assembly/proxy";
import {
  RootContext, Context, registerRootContext, FilterHeadersStatusValues, stream_context, send_http_response, makeHeaderPair, Headers,
} from "@gcoredev/proxy-wasm-sdk-as/assembly";

class Root extends RootContext {
  createContext(context_id: u32): Context { return new Http(context_id, this); }
}
class Http extends Context {
  constructor(id: u32, root: Root) { super(id, root); }
  onRequestHeaders(a: u32, eos: bool): FilterHeadersStatusValues {
    const auth = stream_context.headers.request.get("authorization");
    if (!auth.startsWith("Bearer ")) {
      const h: Headers = [];
      h.push(makeHeaderPair("content-type", "application/json"));
      send_http_response(401, "altgate_no_token", String.UTF8.encode("{\"error\":\"invalid_token\"}"), h);
      return FilterHeadersStatusValues.StopIteration;
    }
    stream_context.headers.request.add("x-altgate-filter", "altgate");
    return FilterHeadersStatusValues.Continue;
  }
}
registerRootContext((id: u32) => new Root(id), "altgate");
