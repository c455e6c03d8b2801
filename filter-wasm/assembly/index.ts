// The altgate filter module: the proxy-wasm exports and the root context factory.
export * from "./abi/exports";
import { registerRootContext } from "@gcoredev/proxy-wasm-sdk-as/assembly";
import { AltgateRoot } from "./filter/root";

registerRootContext((context_id: u32) => new AltgateRoot(context_id), "altgate");
