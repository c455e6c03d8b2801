/**
 * Calls to model containers over the Open Inference Protocol REST API.
 *
 * - Keep-alive: one undici Pool per container origin (models served by the same container share
 *   it), sized to the sum of their concurrency limits.
 * - Bounded concurrency per model, with a bounded queue (limiter.ts): full queue → 503.
 * - One deadline per call (queue wait included): past it the request is aborted, its connection
 *   destroyed, and the caller gets 504.
 * - The answer is read with a size limit and parsed defensively: garbage, truncated bodies,
 *   non-HTTP bytes and wrong statuses all end as a 502 (or 503 for "unavailable"), never as an
 *   exception that escapes or a connection that stays wedged.
 */
import { Agent, Pool } from "undici";
import { classifyTransportError, truncate, upstreamError, ApiError, type UpstreamFailure } from "./errors.ts";
import { Limiter, QueueFull, QueueTimeout } from "./limiter.ts";
import type { Metrics, ModelOutcome } from "./metrics.ts";

export interface ModelClientOptions {
  /** The model's name at this server (metrics, messages). */
  model: string;
  /** Its name at the container. */
  upstreamName: string;
  endpoint: string;
  timeoutMs: number;
  maxConcurrency: number;
  maxQueue: number;
  maxResponseBytes: number;
}

/** Checks a parsed answer (against the manifest); `problem` goes to the log. */
export type AnswerCheck<T> = (body: unknown) => { ok: true; value: T } | { ok: false; problem: string };

class ResponseTooLarge extends Error {}
const TIMEOUT = Symbol("timeout");

/** The connection pools, one per container origin, plus a small agent for readiness probes. */
export class Upstreams {
  private readonly pools = new Map<string, Pool>();
  private readonly probes = new Agent({ connections: 2, keepAliveTimeout: 10_000, connectTimeout: 2_000 });

  pool(origin: string, connections: number): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      p = new Pool(origin, {
        connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connectTimeout: 5_000,
      });
      // A pool-level error (a socket dying while idle) must never become an uncaught exception.
      p.on("connectionError", () => undefined);
      this.pools.set(origin, p);
    }
    return p;
  }

  /** Resolves when `GET <origin>/v2/health/ready` answers 200 within `timeoutMs`. */
  async probe(origin: string, timeoutMs: number): Promise<void> {
    let res;
    try {
      res = await this.probes.request({ origin, path: "/v2/health/ready", method: "GET", signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const e = err as { name?: string; code?: string; cause?: { code?: string } };
      if (e.name === "TimeoutError" || e.name === "AbortError") throw new Error(`no answer within ${timeoutMs} ms`);
      throw new Error(e.code ?? e.cause?.code ?? "unreachable");
    }
    await res.body.dump().catch(() => undefined);
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...[...this.pools.values()].map((p) => p.close()), this.probes.close()]);
  }
}

export class ModelClient {
  readonly limiter: Limiter;
  private readonly path: string;

  constructor(
    readonly opts: ModelClientOptions,
    private readonly pool: Pool,
    private readonly metrics?: Metrics,
  ) {
    this.limiter = new Limiter(opts.maxConcurrency, opts.maxQueue);
    this.path = `/v2/models/${encodeURIComponent(opts.upstreamName)}/infer`;
  }

  /**
   * POSTs an OIP request and checks the answer with `check` (against the manifest); returns what
   * `check` made of it, or throws the ApiError for the caller.
   */
  async infer<T>(payload: unknown, requestId: string, check: AnswerCheck<T>): Promise<T> {
    const started = performance.now();
    let outcome: ModelOutcome = "ok";
    try {
      const release = await this.slot();
      this.gauges();
      try {
        const remaining = this.opts.timeoutMs - (performance.now() - started);
        const body = await this.post(JSON.stringify(payload), requestId, remaining);
        const checked = check(body);
        if (!checked.ok) throw this.fail({ kind: "bad_response", detail: checked.problem });
        return checked.value;
      } finally {
        release();
        this.gauges();
      }
    } catch (err) {
      outcome = (err instanceof ApiError && err.extra.upstream) || "bad_response";
      throw err;
    } finally {
      if (this.metrics) {
        this.metrics.modelCalls.inc({ model: this.opts.model, outcome });
        this.metrics.modelDuration.observe({ model: this.opts.model, outcome }, (performance.now() - started) / 1000);
      }
    }
  }

  private async slot() {
    try {
      const p = this.limiter.acquire(this.opts.timeoutMs);
      this.gauges();
      return await p;
    } catch (err) {
      if (err instanceof QueueFull) throw this.fail({ kind: "overloaded", queued: err.queued });
      if (err instanceof QueueTimeout) throw this.fail({ kind: "timeout", afterMs: this.opts.timeoutMs });
      throw err;
    }
  }

  private gauges() {
    if (!this.metrics) return;
    this.metrics.modelInFlight.set({ model: this.opts.model }, this.limiter.inFlight);
    this.metrics.modelQueued.set({ model: this.opts.model }, this.limiter.queued);
  }

  /** The caller's error; the upstream detail travels in it to the access log. */
  private fail(f: UpstreamFailure): ApiError {
    return upstreamError(this.opts.model, f);
  }

  private async post(body: string, requestId: string, remainingMs: number): Promise<unknown> {
    if (remainingMs <= 0) throw this.fail({ kind: "timeout", afterMs: this.opts.timeoutMs });
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(TIMEOUT), remainingMs);
    try {
      for (let attempt = 0; ; attempt++) {
        let status: number;
        let text: string;
        try {
          const res = await this.pool.request({
            path: this.path,
            method: "POST",
            headers: { "content-type": "application/json", "x-request-id": requestId },
            body,
            signal: ac.signal,
          });
          status = res.statusCode;
          text = await readLimited(res.body, this.opts.maxResponseBytes, res.headers["content-length"]);
        } catch (err) {
          if (ac.signal.aborted) throw this.fail({ kind: "timeout", afterMs: this.opts.timeoutMs });
          if (err instanceof ResponseTooLarge) {
            throw this.fail({ kind: "bad_response", detail: `answer larger than ${this.opts.maxResponseBytes} bytes` });
          }
          const c = classifyTransportError(err);
          if (c.retry && attempt === 0) continue;
          throw this.fail(c.failure);
        }
        return this.interpret(status, text);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private interpret(status: number, text: string): unknown {
    if (status === 200) {
      try {
        return JSON.parse(text);
      } catch {
        throw this.fail({ kind: "bad_response", detail: `HTTP 200 with a body that is not JSON: ${JSON.stringify(truncate(text, 200))}` });
      }
    }
    const detail = `HTTP ${status}: ${JSON.stringify(truncate(text, 300))}`;
    if (status === 503 || status === 429) throw this.fail({ kind: "unavailable", detail });
    throw this.fail({ kind: "bad_response", detail });
  }
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }, max: number, contentLength: unknown): Promise<string> {
  if (typeof contentLength === "string" && Number(contentLength) > max) {
    body.destroy();
    throw new ResponseTooLarge();
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > max) {
      body.destroy();
      throw new ResponseTooLarge();
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks, n).toString("utf8");
}
