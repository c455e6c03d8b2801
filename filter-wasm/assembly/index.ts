// The altgate filter module: its proxy-wasm exports, which create the root context and the streams.
export * from "./abi/exports";
