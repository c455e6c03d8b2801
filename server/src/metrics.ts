/**
 * Prometheus metrics (prom-client), in a registry of their own so that each app (and each test)
 * counts separately. Labels are bounded: the route pattern (never the raw path), the status, the
 * model name from the registry, the outcome of a model call.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type ModelOutcome = "ok" | "timeout" | "unavailable" | "overloaded" | "bad_response";

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<"method" | "route" | "status">;
  httpDuration: Histogram<"method" | "route" | "status">;
  modelCalls: Counter<"model" | "outcome">;
  modelDuration: Histogram<"model" | "outcome">;
  modelInFlight: Gauge<"model">;
  modelQueued: Gauge<"model">;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "altgate_" });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: "altgate_http_requests_total",
      help: "HTTP requests answered, by route pattern and status",
      labelNames: ["method", "route", "status"],
      registers,
    }),
    httpDuration: new Histogram({
      name: "altgate_http_request_duration_seconds",
      help: "Time from request to response, by route pattern and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    modelCalls: new Counter({
      name: "altgate_model_calls_total",
      help: "Calls to model containers, by model and outcome (ok, timeout, unavailable, overloaded, bad_response)",
      labelNames: ["model", "outcome"],
      registers,
    }),
    modelDuration: new Histogram({
      name: "altgate_model_call_duration_seconds",
      help: "Time of a model call including any wait for a free slot, by model and outcome",
      labelNames: ["model", "outcome"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    modelInFlight: new Gauge({
      name: "altgate_model_calls_in_flight",
      help: "Model calls waiting for the container's answer",
      labelNames: ["model"],
      registers,
    }),
    modelQueued: new Gauge({
      name: "altgate_model_calls_queued",
      help: "Model calls waiting for a free slot",
      labelNames: ["model"],
      registers,
    }),
  };
}
