/**
 * The one load generator every configuration gets: autocannon (npm), run in this process, HTTP/1.1
 * keep-alive connections, one request in flight per connection. Each run stops by itself at
 * whichever comes first, its request count or its time limit.
 *
 * autocannon's own latency histogram keeps whole milliseconds, too coarse for a filter that costs
 * microseconds, so every response's time (autocannon measures it with process.hrtime from the
 * request's write to the end of its response) is recorded here at full resolution instead.
 */
import autocannon from "autocannon";

export interface LoadOptions {
  url: string;
  connections: number;
  /** Stop after this many requests... */
  maxRequests: number;
  /** ...or after this many seconds, whichever comes first. */
  maxSeconds: number;
  /** A fixed Authorization header for every request. */
  token?: string;
  /** Or a fresh token for every request; it must not run dry before maxRequests. */
  nextToken?: () => string;
}

export interface LoadResult {
  requests: number;
  /** Responses whose status was not 2xx, and connection errors or timeouts. */
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  seconds: number;
  rps: number;
  p50us: number;
  p99us: number;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const latenciesMs = new Float64Array(o.maxRequests + 2 * o.connections + 16);
  let n = 0;
  const started = process.hrtime.bigint();
  let lastResponse = started;
  const staticHeaders: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};
  const next = o.nextToken;
  let resolveDone!: (r: autocannon.Result) => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  const instance = autocannon(
    {
      url: o.url,
      connections: o.connections,
      pipelining: 1,
      duration: o.maxSeconds,
      maxOverallRequests: o.maxRequests,
      timeout: 10,
      // autocannon notices the end at its next sample tick; a short interval keeps it from idling.
      sampleInt: 100,
      headers: staticHeaders,
      requests: next
        ? [{ method: "GET", setupRequest: (req: autocannon.Request) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${next()}` } }) }]
        : [{ method: "GET" }],
    } as autocannon.Options,
    (err, r) => (err ? rejectDone(err as Error) : resolveDone(r)),
  );
  // The tracker emits (client, statusCode, bytes, responseTimeMs); the typings omit the client.
  (instance as unknown as NodeJS.EventEmitter).on("response", (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => {
    if (n < latenciesMs.length) latenciesMs[n++] = responseTimeMs;
    lastResponse = process.hrtime.bigint();
  });
  // The time limit is autocannon's `duration`; this is only a guard should it ever hang.
  const guard = setTimeout(() => instance.stop(), (o.maxSeconds + 15) * 1000);
  const result = await done.finally(() => clearTimeout(guard));
  const sorted = latenciesMs.subarray(0, n).sort();
  const pct = (p: number) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]! * 1000);
  const seconds = Number(lastResponse - started) / 1e9;
  const statusCodes: Record<string, number> = {};
  for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = v.count ?? 0;
  return {
    requests: n,
    non2xx: result.non2xx + result.errors + result.timeouts,
    errors: result.errors + result.timeouts,
    statusCodes,
    seconds,
    rps: seconds > 0 ? n / seconds : 0,
    p50us: pct(50),
    p99us: pct(99),
  };
}
