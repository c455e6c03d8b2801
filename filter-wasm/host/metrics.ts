import { METRIC_KINDS, WasmResult, type MetricKind } from "./abi-constants.ts";

/** One Envoy stat. Counters and gauges are uint64 in Envoy; histograms keep their samples. */
export class Metric {
  value = 0n;
  readonly samples: bigint[] = [];

  constructor(
    readonly kind: MetricKind,
    readonly name: string,
  ) {}
}

/**
 * The proxy's stats store. Envoy keys custom stats by name within each kind (and exposes them
 * under the `wasmcustom.` prefix); every VM that defines the same name shares the same stat.
 */
export class Metrics {
  private readonly stats = new Map<string, Metric>();

  define(kind: MetricKind, name: string): Metric {
    const key = `${kind}:${name}`;
    let metric = this.stats.get(key);
    if (!metric) this.stats.set(key, (metric = new Metric(kind, name)));
    return metric;
  }

  counter(name: string): number | undefined {
    const metric = this.stats.get(`counter:${name}`);
    return metric && Number(metric.value);
  }

  gauge(name: string): number | undefined {
    const metric = this.stats.get(`gauge:${name}`);
    return metric && Number(metric.value);
  }

  histogram(name: string): number[] | undefined {
    return this.stats.get(`histogram:${name}`)?.samples.map(Number);
  }
}

const TYPE_MASK = 0x3;
const ID_INCREMENT = 0x4;

/**
 * A VM's metric ids. Envoy encodes the kind in the low two bits (counter 0, gauge 1,
 * histogram 2) and counts each kind up by 4 from there, so the first counter is 4, the first
 * gauge 5, the first histogram 6. Ids are per VM; defining a name again yields a new id for the
 * same stat.
 */
export class MetricIds {
  private readonly byId = new Map<number, Metric>();
  private readonly next = [0, 1, 2];

  constructor(private readonly metrics: Metrics) {}

  define(type: number, name: string): { result: WasmResult; id?: number } {
    const kind = METRIC_KINDS[type];
    if (kind === undefined) return { result: WasmResult.BadArgument };
    const id = (this.next[type]! += ID_INCREMENT);
    this.byId.set(id, this.metrics.define(kind, name));
    return { result: WasmResult.Ok, id };
  }

  /** Counters only go up (offset must be positive); gauges go up or down. */
  increment(id: number, offset: bigint): WasmResult {
    const kind = METRIC_KINDS[id & TYPE_MASK];
    if (kind === "histogram" || kind === undefined) return WasmResult.BadArgument;
    const metric = this.byId.get(id);
    if (!metric) return WasmResult.NotFound;
    if (kind === "counter" && offset <= 0n) return WasmResult.BadArgument;
    metric.value = BigInt.asUintN(64, metric.value + offset);
    return WasmResult.Ok;
  }

  /** A counter adds the value, a gauge is set to it, a histogram records a sample. */
  record(id: number, value: bigint): WasmResult {
    const metric = this.byId.get(id);
    if (!metric) return WasmResult.NotFound;
    if (metric.kind === "counter") metric.value = BigInt.asUintN(64, metric.value + value);
    else if (metric.kind === "gauge") metric.value = value;
    else metric.samples.push(value);
    return WasmResult.Ok;
  }

  get(id: number): { result: WasmResult; value?: bigint } {
    const kind = METRIC_KINDS[id & TYPE_MASK];
    if (kind === "histogram" || kind === undefined) return { result: WasmResult.BadArgument };
    const metric = this.byId.get(id);
    return metric ? { result: WasmResult.Ok, value: metric.value } : { result: WasmResult.NotFound };
  }
}
