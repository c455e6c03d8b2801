/**
 * The same filter build in the proxy-wasm test host (filter-wasm/host), fed 10,000 distinct tokens
 * whose introspection is answered with a real Keycloak introspection body. Envoy cannot show a
 * VM's linear memory or the bytes its shared data holds; the test host can, exactly:
 *   - the VM's linear memory after the 10,000 requests (the cache is not in it: it lives in
 *     shared data, outside every VM, shared by all worker VMs of the vm_id);
 *   - the bytes of the shared-data keys and values the cache occupies.
 * Envoy's own process-memory growth for the same fill is measured in filter.bench.ts.
 */
import { readFileSync } from "node:fs";
import { Proxy } from "../../filter-wasm/host/index.ts";

export interface HostMemory {
  tokens: number;
  linearMemoryStartBytes: number;
  linearMemoryEndBytes: number;
  sharedKeys: number;
  /** Entries the buckets hold after the fill: fewer than `tokens` when a 4-way bucket overflowed. */
  heldEntries: number;
  sharedBytes: number;
  /** Bytes of cached identity entries: bucket values minus the empty buckets written at configure. */
  cacheEntryBytes: number;
  allowed: number;
}

export function hostCacheMemory(wasmPath: string, filterConfig: unknown, introspectionBody: string, tokens: number): HostMemory {
  const proxy = new Proxy({ startTimeMs: Date.now() });
  const vmId = "altgate-host";
  const worker = proxy.createWorker(readFileSync(wasmPath), { configuration: JSON.stringify(filterConfig), rootId: "altgate", vmId });
  if (!worker.started || !worker.configured) throw new Error(`the filter did not start in the test host: ${JSON.stringify(proxy.logs.lines.slice(-5))}`);
  const sizeOf = () => {
    let bytes = 0;
    let entries = 0;
    const keys = proxy.sharedData.keys(vmId);
    for (const k of keys) {
      const value = proxy.sharedData.get(k, vmId)?.value ?? new Uint8Array();
      bytes += Buffer.byteLength(k) + value.length;
      // A cache bucket (filter-wasm/assembly/cache.ts) starts with its format byte and its entry count.
      if (k.startsWith("altgate/c/") && value.length >= 2) entries += value[1]!;
    }
    return { keys: keys.length, bytes, entries };
  };
  const empty = sizeOf();
  const linearMemoryStartBytes = worker.memoryBytes;
  let allowed = 0;
  for (let i = 0; i < tokens; i++) {
    const stream = worker.request({
      headers: [
        [":method", "GET"], [":path", "/v1/models"], [":authority", "127.0.0.1"], [":scheme", "http"],
        ["authorization", `Bearer bench-${i.toString().padStart(6, "0")}-${"x".repeat(1200)}`],
      ],
    });
    const call = proxy.pendingHttpCalls[0];
    if (!call) throw new Error(`request ${i}: the filter made no introspection call (state ${stream.state}, ${stream.localResponse?.bodyText ?? ""})`);
    call.respond({ status: 200, headers: [["content-type", "application/json"]], body: introspectionBody });
    if (stream.state === "continued") {
      allowed++;
      stream.respond({ status: 200, body: "ok" });
    } else {
      throw new Error(`request ${i}: not allowed in the test host (${stream.state}: ${stream.localResponse?.bodyText ?? ""})`);
    }
    if (!stream.closed) stream.close();
  }
  if (worker.trapped) throw new Error(`the filter trapped in the test host: ${worker.trapped.message}`);
  const full = sizeOf();
  return {
    tokens,
    linearMemoryStartBytes,
    linearMemoryEndBytes: worker.memoryBytes,
    sharedKeys: full.keys,
    heldEntries: full.entries,
    sharedBytes: full.bytes,
    cacheEntryBytes: full.bytes - empty.bytes,
    allowed,
  };
}
