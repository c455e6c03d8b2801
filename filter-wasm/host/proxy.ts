import type { LogLevelName } from "./abi-constants.ts";
import { VirtualClock } from "./clock.ts";
import type { HttpCall } from "./http-call.ts";
import { LogSink } from "./log-sink.ts";
import { Metrics } from "./metrics.ts";
import { SharedData } from "./shared-data.ts";
import { SharedQueues } from "./shared-queues.ts";
import { compileModule, type WasmModule } from "./wasm-api.ts";
import { Worker, type WorkerOptions } from "./worker.ts";

export interface ProxyOptions {
  /** Cluster names proxy_http_call may use; a call to any other gets BadArgument. Unset: any name. */
  clusters?: readonly string[];
  /** Wall-clock time the virtual clock starts at (ms since the epoch). */
  startTimeMs?: number;
  /** Seed of the deterministic bytes WASI random_get hands out. */
  randomSeed?: number;
  /** What proxy_get_log_level reports (Envoy's default is info). Every line is captured anyway. */
  logLevel?: LogLevelName;
}

const DEFAULT_START_MS = Date.UTC(2025, 0, 1);

/**
 * One Envoy process: the state its workers share (shared data, queues, stats, logs, outgoing
 * calls) and the virtual clock that drives ticks, call timeouts and posted work. Nothing happens
 * on its own: the test sends requests, answers calls and advances the clock.
 */
export class Proxy {
  readonly clock: VirtualClock;
  readonly sharedData = new SharedData();
  readonly sharedQueues: SharedQueues;
  readonly metrics = new Metrics();
  readonly logs = new LogSink();
  readonly workers: Worker[] = [];
  readonly httpCalls: HttpCall[] = [];
  readonly logLevel: LogLevelName;
  /**
   * proxy_* calls that answer InternalFailure, doing nothing, until removed again: a host that
   * cannot carry out a call (Envoy answers BadArgument, for one, once a stream's headers are gone).
   */
  readonly failingHostCalls = new Set<string>();
  /** When set, every proxy_* call a module makes is counted here by name. */
  hostCallCounts: Map<string, number> | undefined;

  private readonly clusters: ReadonlySet<string> | undefined;
  private randomState: number;

  constructor(options: ProxyOptions = {}) {
    this.clock = new VirtualClock(options.startTimeMs ?? DEFAULT_START_MS);
    this.clusters = options.clusters && new Set(options.clusters);
    this.randomState = options.randomSeed ?? 1;
    this.logLevel = options.logLevel ?? "info";
    // Envoy posts a queue notification to the owner's event loop: it runs at the next advance().
    this.sharedQueues = new SharedQueues((task) => this.clock.schedule(0, task));
  }

  /** Instantiates the module for a new worker and starts its VM (check `started`, `configured`). */
  createWorker(wasm: Uint8Array | WasmModule, options: WorkerOptions = {}): Worker {
    const module = wasm instanceof Uint8Array ? compileModule(wasm) : wasm;
    const worker = new Worker(this, this.workers.length + 1, module, options);
    this.workers.push(worker);
    return worker;
  }

  get nowMs(): number {
    return this.clock.nowMs;
  }

  /** Moves time on, firing due ticks, call timeouts and posted work in order. `advance(0)` runs posted work. */
  advance(ms: number): void {
    this.clock.advance(ms);
  }

  get pendingHttpCalls(): HttpCall[] {
    return this.httpCalls.filter((c) => c.state === "pending");
  }

  /** @internal */
  hasCluster(name: string): boolean {
    return this.clusters === undefined || this.clusters.has(name);
  }

  /** @internal */
  recordHttpCall(call: HttpCall): void {
    this.httpCalls.push(call);
  }

  /** @internal Deterministic bytes (mulberry32), so a run can be replayed. */
  randomBytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      let t = (this.randomState = (this.randomState + 0x6d2b79f5) >>> 0);
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
    }
    return out;
  }
}
