// The filter's counters, shown by Envoy under the names below (prefixed `wasmcustom.` in /stats).
import { defineMetric, incrementMetric, METRIC_COUNTER } from "../abi/host";

export class Metrics {
  allowed: u32 = 0;
  denied: u32 = 0;
  publicRoutes: u32 = 0;
  introspectionCalls: u32 = 0;
  introspectionFailures: u32 = 0;
  coalesced: u32 = 0;
  cacheHits: u32 = 0;
  cacheMisses: u32 = 0;
  cacheEvictions: u32 = 0;
  revocationPolls: u32 = 0;
  revocationPollFailures: u32 = 0;
  revocationsDropped: u32 = 0;
  deniedByReason: Map<string, u32> = new Map();

  static define(): Metrics {
    const m = new Metrics();
    m.allowed = defineMetric(METRIC_COUNTER, "altgate.requests_allowed");
    m.denied = defineMetric(METRIC_COUNTER, "altgate.requests_denied");
    m.publicRoutes = defineMetric(METRIC_COUNTER, "altgate.requests_public");
    m.introspectionCalls = defineMetric(METRIC_COUNTER, "altgate.introspection_calls");
    m.introspectionFailures = defineMetric(METRIC_COUNTER, "altgate.introspection_failures");
    m.coalesced = defineMetric(METRIC_COUNTER, "altgate.introspection_coalesced");
    m.cacheHits = defineMetric(METRIC_COUNTER, "altgate.cache_hits");
    m.cacheMisses = defineMetric(METRIC_COUNTER, "altgate.cache_misses");
    m.cacheEvictions = defineMetric(METRIC_COUNTER, "altgate.cache_evictions");
    m.revocationPolls = defineMetric(METRIC_COUNTER, "altgate.revocation_polls");
    m.revocationPollFailures = defineMetric(METRIC_COUNTER, "altgate.revocation_poll_failures");
    m.revocationsDropped = defineMetric(METRIC_COUNTER, "altgate.revocations_dropped");
    const reasons = ["missing_token", "malformed", "invalid_token", "forbidden", "no_rule", "bad_path", "issuer_unavailable", "revoked", "proxy_error"];
    for (let i = 0; i < reasons.length; i++) {
      const r = unchecked(reasons[i]);
      m.deniedByReason.set(r, defineMetric(METRIC_COUNTER, "altgate.denied." + r));
    }
    return m;
  }

  inc(id: u32): void {
    incrementMetric(id, 1);
  }

  deny(reason: string): void {
    incrementMetric(this.denied, 1);
    if (this.deniedByReason.has(reason)) incrementMetric(this.deniedByReason.get(reason), 1);
  }
}
