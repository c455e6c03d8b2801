export { WasmResult, type LogLevelName, type MetricKind } from "./abi-constants.ts";
export type { HeaderPair, HeaderPairs } from "./header-map.ts";
export type { CallResponseInit, HttpCall, HttpCallState } from "./http-call.ts";
export type { LogLine, LogSource } from "./log-sink.ts";
export { Proxy, type ProxyOptions } from "./proxy.ts";
export type { SharedEntry } from "./shared-data.ts";
export type {
  DownstreamResponse,
  HttpMessage,
  HttpStream,
  LocalResponse,
  RequestInit,
  ResponseInit,
  StreamState,
} from "./stream.ts";
export { compileModule, type WasmModule } from "./wasm-api.ts";
export type { VmFailure, Worker, WorkerOptions } from "./worker.ts";
