import { BufferType, HeaderMapType, WasmResult, type LogLevelName } from "./abi-constants.ts";
import type { Timer, VirtualClock } from "./clock.ts";
import { HeaderMap, type HeaderPair } from "./header-map.ts";
import { HttpCall, type CallResponse } from "./http-call.ts";
import type { LogSource } from "./log-sink.ts";
import { encodeUtf8, ModuleMemory } from "./memory.ts";
import { MetricIds } from "./metrics.ts";
import type { Proxy } from "./proxy.ts";
import { createProxyImports } from "./proxy-imports.ts";
import type { QueueOwner } from "./shared-queues.ts";
import { HttpStream, type RequestInit, type StreamHost } from "./stream.ts";
import { createWasiImports, type WasiHost } from "./wasi.ts";
import {
  instantiate,
  isWasmTrap,
  moduleImports,
  type ImportObject,
  type WasmExport,
  type WasmMemory,
  type WasmModule,
} from "./wasm-api.ts";

export interface WorkerOptions {
  /** The plugin configuration (Envoy `configuration`, Istio `pluginConfig`). */
  configuration?: string;
  vmConfiguration?: string;
  vmId?: string;
  rootId?: string;
  pluginName?: string;
  /** Envoy's vm_config.environment_variables, visible through WASI environ_get. */
  env?: Record<string, string>;
  /** Envoy's fail_open: after a VM failure, streams pass through instead of getting a 503. */
  failOpen?: boolean;
}

export interface VmFailure {
  /** The export that was running, e.g. `proxy_on_request_headers`. */
  readonly callback: string;
  readonly message: string;
}

/** proc_exit must unwind the module; this is how the host tells it apart from a host bug. */
class ProcExit extends Error {
  override name = "ProcExit";
}

const ROOT_CONTEXT_ID = 1;
const EMPTY = new Uint8Array();

type Callable = (...args: number[]) => unknown;

/**
 * One Envoy worker thread's VM: its own instance (own linear memory) of the module, sharing the
 * proxy's shared data, queues and stats with the other workers. Creating it starts the VM as
 * Envoy does: WASI `_start` (or `_initialize`), the root context, proxy_on_vm_start, then
 * proxy_on_configure. A trap or proc_exit in any callback fails the VM for good.
 */
export class Worker implements StreamHost, QueueOwner, WasiHost {
  readonly rootContextId = ROOT_CONTEXT_ID;
  readonly vmId: string;
  readonly failOpen: boolean;
  readonly env: (readonly [string, string])[];
  /** proxy_on_vm_start returned true (Envoy fails the plugin otherwise). */
  readonly started: boolean;
  /** proxy_on_configure returned true (Envoy rejects the configuration otherwise). */
  readonly configured: boolean;

  /** @internal */ readonly memory: ModuleMemory;
  /** @internal */ readonly metricIds: MetricIds;
  /** @internal */ rootStatus = { code: 0, message: "" };

  private failure: VmFailure | undefined;
  private readonly exports: Record<string, WasmExport>;
  private readonly configuration: Uint8Array;
  private readonly vmConfiguration: Uint8Array;
  private readonly pluginProperties: Map<string, Uint8Array>;
  private readonly streams = new Map<number, HttpStream>();
  private readonly afterCallActions: (() => void)[] = [];
  private nextContextId = ROOT_CONTEXT_ID + 1;
  private nextHttpCallToken = 0;
  private currentContextId = 0;
  private effectiveContextId = 0;
  private callDepth = 0;
  private stopIteration = false;
  private pluginConfigurationVisible = false;
  private httpCallResponse: CallResponse | undefined;
  private tickPeriodMs = 0;
  private tickTimer: Timer | undefined;

  constructor(
    readonly proxy: Proxy,
    readonly id: number,
    module: WasmModule,
    options: WorkerOptions = {},
  ) {
    this.vmId = options.vmId ?? "";
    this.failOpen = options.failOpen ?? false;
    this.env = Object.entries(options.env ?? {});
    this.configuration = encodeUtf8(options.configuration ?? "");
    this.vmConfiguration = encodeUtf8(options.vmConfiguration ?? "");
    this.pluginProperties = new Map([
      ["plugin_name", encodeUtf8(options.pluginName ?? "")],
      ["plugin_root_id", encodeUtf8(options.rootId ?? "")],
      ["plugin_vm_id", encodeUtf8(this.vmId)],
    ]);
    this.metricIds = new MetricIds(proxy.metrics);

    const imports: ImportObject = { env: createProxyImports(this), wasi_snapshot_preview1: createWasiImports(this) };
    const missing = moduleImports(module).filter((i) => i.kind === "function" && !imports[i.module]?.[i.name]);
    if (missing.length > 0) {
      throw new Error(`Envoy would not load this module, it imports: ${missing.map((i) => `${i.module}.${i.name}`).join(", ")}`);
    }
    this.exports = instantiate(module, imports).exports;
    if (typeof this.exports.proxy_abi_version_0_2_1 !== "function" || !this.exports.memory) {
      throw new Error("the module exports no proxy_abi_version_0_2_1 or no memory: not a proxy-wasm 0.2.1 module");
    }
    const allocate = this.exports.proxy_on_memory_allocate ?? this.exports.malloc;
    this.memory = new ModuleMemory(this.exports.memory as WasmMemory, (size) =>
      typeof allocate === "function" ? Number((allocate as Callable)(size)) : 0,
    );
    [this.started, this.configured] = this.startVm();
  }

  /** Set once a trap or proc_exit has failed the VM; the worker is dead from then on. */
  get trapped(): VmFailure | undefined {
    return this.failure;
  }

  get memoryBytes(): number {
    return this.memory.byteLength;
  }

  /** Sends a request through the filter (its request headers, then its body if any). */
  request(init: RequestInit): HttpStream {
    if (!this.started || !this.configured) {
      throw new Error(`worker ${this.id}: the plugin failed to start or configure; Envoy would reject this configuration`);
    }
    const stream = new HttpStream(this, this.nextContextId++, init);
    this.streams.set(stream.contextId, stream);
    stream.start();
    return stream;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** @internal */
  invoke(contextId: number, name: string, args: number[]): number | undefined {
    const fn = this.exports[name];
    if (typeof fn !== "function" || this.failed) return undefined;
    const saved = [this.currentContextId, this.effectiveContextId] as const;
    if (this.callDepth === 0) this.stopIteration = false;
    this.currentContextId = contextId;
    this.effectiveContextId = 0;
    this.callDepth++;
    try {
      const result = (fn as Callable)(...args);
      return typeof result === "number" ? result : 0;
    } catch (error) {
      if (error instanceof ProcExit || isWasmTrap(error)) {
        this.failure = { callback: name, message: error.message };
        this.log("critical", `Function: ${name} failed: Uncaught ${error.name}: ${error.message}`, "host");
        return undefined;
      }
      throw error;
    } finally {
      this.callDepth--;
      [this.currentContextId, this.effectiveContextId] = saved;
    }
  }

  /** @internal Envoy runs deferred actions (local replies, continues) once the VM call returns. */
  afterCall(action: () => void): void {
    this.afterCallActions.push(action);
  }

  /** @internal */
  flushAfterCall(): void {
    for (let action = this.afterCallActions.shift(); action; action = this.afterCallActions.shift()) action();
  }

  /** @internal */
  stopNextIteration(): void {
    this.stopIteration = true;
  }

  /** @internal */
  nextIterationStopped(): boolean {
    return this.stopIteration;
  }

  /** @internal */
  removeStream(contextId: number): void {
    this.streams.delete(contextId);
  }

  /** @internal The stream whose context is effective now, or undefined for the root context. */
  activeStream(): HttpStream | undefined {
    return this.streams.get(this.effectiveContextId || this.currentContextId);
  }

  /** @internal */
  setEffectiveContext(contextId: number): WasmResult {
    if (contextId !== 0 && contextId !== ROOT_CONTEXT_ID && !this.streams.has(contextId)) return WasmResult.BadArgument;
    this.effectiveContextId = contextId;
    return WasmResult.Ok;
  }

  /** @internal */
  resolveHeaderMap(type: number, forWrite: boolean): HeaderMap | undefined {
    if (type === HeaderMapType.HttpCallResponseHeaders) return forWrite ? undefined : this.httpCallResponse?.headers;
    if (type === HeaderMapType.HttpCallResponseTrailers) return forWrite ? undefined : this.httpCallResponse?.trailers;
    return this.activeStream()?.headerMap(type, forWrite);
  }

  /**
   * @internal Envoy's getBuffer: undefined where Envoy has no buffer (NotFound); an empty one where
   * it has a buffer with nothing in it; `replace` only on a body the module may modify now.
   */
  resolveBuffer(type: number): { bytes: Uint8Array; replace?: (bytes: Uint8Array) => void } | undefined {
    switch (type) {
      case BufferType.HttpRequestBody:
        return this.activeStream()?.openBody("request") ?? { bytes: EMPTY };
      case BufferType.HttpResponseBody:
        return this.activeStream()?.openBody("response") ?? { bytes: EMPTY };
      case BufferType.HttpCallResponseBody:
        return this.httpCallResponse && { bytes: this.httpCallResponse.body };
      case BufferType.VmConfiguration:
        return { bytes: this.vmConfiguration };
      case BufferType.PluginConfiguration:
        return this.pluginConfigurationVisible ? { bytes: this.configuration } : undefined;
      default:
        return { bytes: EMPTY };
    }
  }

  /**
   * @internal Stream properties first, then the plugin's own (plugin_name, plugin_root_id,
   * plugin_vm_id). Like Envoy, a value set with proxy_set_property is read back with the same path.
   */
  getProperty(path: string): Uint8Array | undefined {
    return this.activeStream()?.properties.get(path) ?? this.pluginProperties.get(path);
  }

  /** @internal Envoy keeps one tick timer per root context; the next tick is armed after each one. */
  setTickPeriod(periodMs: number): void {
    this.tickTimer?.cancel();
    this.tickTimer = undefined;
    this.tickPeriodMs = periodMs;
    if (periodMs > 0) this.tickTimer = this.proxy.clock.schedule(periodMs, () => this.onTickTimer());
  }

  /**
   * @internal Envoy refuses a call (BadArgument) to an unknown cluster or without `:path`,
   * `:method` and `:authority`; the call is owned by the root context, whatever context made it.
   */
  dispatchHttpCall(
    cluster: string,
    headers: HeaderPair[],
    body: Uint8Array,
    trailers: HeaderPair[],
    timeoutMs: number,
  ): { result: WasmResult; token: number } {
    const map = new HeaderMap(headers);
    const complete = [":path", ":method", ":authority"].every((h) => map.get(h) !== undefined);
    if (timeoutMs < 0 || !this.proxy.hasCluster(cluster) || !complete) return { result: WasmResult.BadArgument, token: 0 };
    if (body.length > 0) map.replace("content-length", String(body.length));
    const token = (this.nextHttpCallToken += 4);
    const trailerPairs = new HeaderMap(trailers).pairs();
    this.proxy.recordHttpCall(
      new HttpCall(this, token, cluster, map.pairs(), body, trailerPairs, timeoutMs, this.proxy.clock),
    );
    return { result: WasmResult.Ok, token };
  }

  /** @internal A failed call reaches the module as 0 headers, 0 body, and status BrokenConnection. */
  deliverHttpCallResponse(token: number, response: CallResponse | undefined): void {
    if (this.failed) return;
    if (!response) this.rootStatus = { code: WasmResult.BrokenConnection, message: "reset" };
    this.httpCallResponse = response;
    const counts = response ? [response.headers.count, response.body.length, response.trailers.count] : [0, 0, 0];
    this.invoke(ROOT_CONTEXT_ID, "proxy_on_http_call_response", [ROOT_CONTEXT_ID, token, ...counts]);
    this.httpCallResponse = undefined;
    this.rootStatus = { ...this.rootStatus, message: "" };
    this.flushAfterCall();
  }

  /** @internal */
  notifyQueueReady(token: number): void {
    this.invoke(ROOT_CONTEXT_ID, "proxy_on_queue_ready", [ROOT_CONTEXT_ID, token]);
    this.flushAfterCall();
  }

  /** @internal */
  log(level: LogLevelName, message: string, source: LogSource): void {
    this.proxy.logs.write({ level, message, source, workerId: this.id });
  }

  /** @internal */
  randomBytes(length: number): Uint8Array {
    return this.proxy.randomBytes(length);
  }

  /** @internal */
  get clock(): VirtualClock {
    return this.proxy.clock;
  }

  /** @internal */
  exit(code: number): never {
    throw new ProcExit(`proc_exit(${code})`);
  }

  private startVm(): [started: boolean, configured: boolean] {
    if (typeof this.exports._initialize === "function") {
      this.invoke(0, "_initialize", []);
      this.invoke(0, "main", [0, 0]);
    } else {
      this.invoke(0, "_start", []);
    }
    this.pluginConfigurationVisible = true;
    this.invoke(ROOT_CONTEXT_ID, "proxy_on_context_create", [ROOT_CONTEXT_ID, 0]);
    this.pluginConfigurationVisible = false;
    this.flushAfterCall();
    const started = this.invoke(ROOT_CONTEXT_ID, "proxy_on_vm_start", [ROOT_CONTEXT_ID, this.vmConfiguration.length]);
    this.flushAfterCall();
    if (this.failed || started === 0) return [false, false];
    this.pluginConfigurationVisible = true;
    const configured = this.invoke(ROOT_CONTEXT_ID, "proxy_on_configure", [ROOT_CONTEXT_ID, this.configuration.length]);
    this.pluginConfigurationVisible = false;
    this.flushAfterCall();
    return [true, !this.failed && configured !== 0];
  }

  private onTickTimer(): void {
    this.tickTimer = undefined;
    if (typeof this.exports.proxy_on_tick !== "function") return;
    this.invoke(ROOT_CONTEXT_ID, "proxy_on_tick", [ROOT_CONTEXT_ID]);
    this.flushAfterCall();
    if (this.tickPeriodMs > 0) this.setTickPeriod(this.tickPeriodMs);
  }
}
