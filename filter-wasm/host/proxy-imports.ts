import {
  BUFFER_TYPE_MAX,
  GRPC_STATUS_MAX,
  HEADER_MAP_TYPE_MAX,
  LOG_LEVELS,
  STREAM_TYPE_MAX,
  StreamType,
  WasmResult,
} from "./abi-constants.ts";
import { decodePairs, encodePairs, HeaderMap } from "./header-map.ts";
import { encodeUtf8, MemoryFault } from "./memory.ts";
import type { ImportFunction } from "./wasm-api.ts";
import type { Worker } from "./worker.ts";

/** Any pointer the module passes may be bad; Envoy answers InvalidMemoryAccess rather than fail. */
function guarded<A extends unknown[]>(fn: (...args: A) => number): (...args: A) => number {
  return (...args) => {
    try {
      return fn(...args);
    } catch (error) {
      if (error instanceof MemoryFault) return WasmResult.InvalidMemoryAccess;
      throw error;
    }
  };
}

function unsupported(name: string): ImportFunction {
  return () => {
    throw new Error(`${name} is not implemented by the altgate test host (Envoy supports it)`);
  };
}

/**
 * The `env` hostcalls of proxy-wasm ABI 0.2.1 as Envoy implements them (source of truth:
 * envoy/source/extensions/common/wasm/context.cc and proxy-wasm-cpp-host src/exports.cc).
 * Calls that act on the stream (local response, continue, close) take effect after the callback
 * returns, as Envoy defers them.
 */
export function createProxyImports(worker: Worker): Record<string, ImportFunction> {
  const proxy = worker.proxy;
  const imports = envoyImports(worker);
  // A call the test made fail answers as a failing host would, before touching anything.
  for (const [name, fn] of Object.entries(imports)) {
    imports[name] = (...args: never[]) => {
      const counts = proxy.hostCallCounts;
      if (counts !== undefined) counts.set(name, (counts.get(name) ?? 0) + 1);
      return proxy.failingHostCalls.has(name) ? WasmResult.InternalFailure : fn(...args);
    };
  }
  return imports;
}

function envoyImports(worker: Worker): Record<string, ImportFunction> {
  const mem = () => worker.memory;
  const proxy = worker.proxy;

  return {
    proxy_log: guarded((level: number, ptr: number, size: number) => {
      const name = LOG_LEVELS[level];
      if (name === undefined) return WasmResult.BadArgument;
      worker.log(name, mem().readString(ptr, size), "proxy_log");
      return WasmResult.Ok;
    }),

    proxy_get_log_level: guarded((levelPtr: number) => {
      mem().writeU32(levelPtr, LOG_LEVELS.indexOf(proxy.logLevel));
      return WasmResult.Ok;
    }),

    proxy_get_status: guarded((codePtr: number, messagePtrPtr: number, messageSizePtr: number) => {
      const status = worker.activeStream() ? { code: 0, message: "" } : worker.rootStatus;
      mem().writeU32(codePtr, status.code);
      mem().copyOut(encodeUtf8(status.message), messagePtrPtr, messageSizePtr);
      return WasmResult.Ok;
    }),

    proxy_set_tick_period_milliseconds: (periodMs: number) => {
      worker.setTickPeriod(periodMs >>> 0);
      return WasmResult.Ok;
    },

    proxy_get_current_time_nanoseconds: guarded((timePtr: number) => {
      mem().writeU64(timePtr, proxy.clock.realtimeNs);
      return WasmResult.Ok;
    }),

    proxy_get_property: guarded((pathPtr: number, pathSize: number, valuePtrPtr: number, valueSizePtr: number) => {
      const value = worker.getProperty(mem().readString(pathPtr, pathSize));
      if (!value) return WasmResult.NotFound;
      mem().copyOut(value, valuePtrPtr, valueSizePtr);
      return WasmResult.Ok;
    }),

    proxy_set_property: guarded((pathPtr: number, pathSize: number, valuePtr: number, valueSize: number) => {
      const stream = worker.activeStream();
      if (!stream) return WasmResult.NotFound;
      stream.properties.set(mem().readString(pathPtr, pathSize), mem().read(valuePtr, valueSize));
      return WasmResult.Ok;
    }),

    proxy_continue_stream: (type: number) => {
      if (type >>> 0 > STREAM_TYPE_MAX) return WasmResult.BadArgument;
      if (type === StreamType.Upstream) return WasmResult.Unimplemented;
      const stream = worker.activeStream();
      if (stream && type !== StreamType.Downstream) worker.afterCall(stream.continueRequested(type));
      return WasmResult.Ok;
    },

    proxy_close_stream: (type: number) => {
      if (type >>> 0 > STREAM_TYPE_MAX) return WasmResult.BadArgument;
      const stream = worker.activeStream();
      if (stream && (type === StreamType.Request || type === StreamType.Response)) {
        worker.afterCall(() => stream.reset("wasm_close_stream"));
      }
      return WasmResult.Ok;
    },

    proxy_send_local_response: guarded(
      (
        status: number,
        detailsPtr: number,
        detailsSize: number,
        bodyPtr: number,
        bodySize: number,
        headersPtr: number,
        headersSize: number,
        grpcStatus: number,
      ) => {
        const details = mem().readString(detailsPtr, detailsSize).replace(/\s/g, "_");
        const body = mem().read(bodyPtr, bodySize);
        const headers = new HeaderMap(decodePairs(mem().read(headersPtr, headersSize))).pairs();
        const stream = worker.activeStream();
        const reply = {
          status: status >>> 0,
          headers,
          body,
          details,
          grpcStatus: grpcStatus >= 0 && grpcStatus <= GRPC_STATUS_MAX ? grpcStatus : undefined,
        };
        if (stream) worker.afterCall(() => stream.sendLocalReply(reply));
        worker.stopNextIteration();
        return WasmResult.Ok;
      },
    ),

    proxy_clear_route_cache: () => WasmResult.Ok,

    proxy_get_shared_data: guarded(
      (keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number, casPtr: number) => {
        const entry = proxy.sharedData.get(mem().readString(keyPtr, keySize), worker.vmId);
        if (!entry) return WasmResult.NotFound;
        mem().copyOut(entry.value, valuePtrPtr, valueSizePtr);
        mem().writeU32(casPtr, entry.cas);
        return WasmResult.Ok;
      },
    ),

    proxy_set_shared_data: guarded((keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number) => {
      const key = mem().readString(keyPtr, keySize);
      return proxy.sharedData.set(key, mem().read(valuePtr, valueSize), cas >>> 0, worker.vmId);
    }),

    proxy_register_shared_queue: guarded((namePtr: number, nameSize: number, tokenPtr: number) => {
      const token = proxy.sharedQueues.register(worker.vmId, mem().readString(namePtr, nameSize), worker);
      mem().writeU32(tokenPtr, token);
      return WasmResult.Ok;
    }),

    proxy_resolve_shared_queue: guarded(
      (vmIdPtr: number, vmIdSize: number, namePtr: number, nameSize: number, tokenPtr: number) => {
        const vmId = mem().readString(vmIdPtr, vmIdSize) || worker.vmId;
        const token = proxy.sharedQueues.resolve(vmId, mem().readString(namePtr, nameSize));
        if (token === 0) return WasmResult.NotFound;
        mem().writeU32(tokenPtr, token);
        return WasmResult.Ok;
      },
    ),

    proxy_dequeue_shared_queue: guarded((token: number, dataPtrPtr: number, dataSizePtr: number) => {
      const { result, item } = proxy.sharedQueues.dequeue(token >>> 0);
      if (item) mem().copyOut(item, dataPtrPtr, dataSizePtr);
      return result;
    }),

    proxy_enqueue_shared_queue: guarded((token: number, dataPtr: number, dataSize: number) =>
      proxy.sharedQueues.enqueue(token >>> 0, mem().read(dataPtr, dataSize)),
    ),

    proxy_get_header_map_value: guarded(
      (type: number, keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number) => {
        if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
        const key = mem().readString(keyPtr, keySize);
        const map = worker.resolveHeaderMap(type, false);
        if (!map) return worker.activeStream()?.logPhase ? WasmResult.NotFound : WasmResult.BadArgument;
        const value = map.get(key);
        if (value === undefined) return WasmResult.NotFound;
        mem().copyOut(encodeUtf8(value), valuePtrPtr, valueSizePtr);
        return WasmResult.Ok;
      },
    ),

    proxy_get_header_map_pairs: guarded((type: number, ptrPtr: number, sizePtr: number) => {
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const pairs = worker.resolveHeaderMap(type, false)?.pairs() ?? [];
      mem().copyOut(pairs.length > 0 ? encodePairs(pairs) : new Uint8Array(), ptrPtr, sizePtr);
      return WasmResult.Ok;
    }),

    proxy_set_header_map_pairs: guarded((type: number, ptr: number, size: number) => {
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const pairs = decodePairs(mem().read(ptr, size));
      const map = worker.resolveHeaderMap(type, true);
      if (!map) return WasmResult.BadArgument;
      map.setPairs(pairs);
      return WasmResult.Ok;
    }),

    proxy_add_header_map_value: guarded(
      (type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number) => {
        if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
        const key = mem().readString(keyPtr, keySize);
        const value = mem().readString(valuePtr, valueSize);
        const map = worker.resolveHeaderMap(type, true);
        if (!map) return WasmResult.BadArgument;
        map.add(key, value);
        return WasmResult.Ok;
      },
    ),

    proxy_replace_header_map_value: guarded(
      (type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number) => {
        if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
        const key = mem().readString(keyPtr, keySize);
        const value = mem().readString(valuePtr, valueSize);
        const map = worker.resolveHeaderMap(type, true);
        if (!map) return WasmResult.BadArgument;
        map.replace(key, value);
        return WasmResult.Ok;
      },
    ),

    proxy_remove_header_map_value: guarded((type: number, keyPtr: number, keySize: number) => {
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = mem().readString(keyPtr, keySize);
      const map = worker.resolveHeaderMap(type, true);
      if (!map) return WasmResult.BadArgument;
      map.remove(key);
      return WasmResult.Ok;
    }),

    // Envoy sizes a map through its mutable accessor, so the (immutable) HTTP call response maps
    // answer BadArgument here even while they can be read.
    proxy_get_header_map_size: guarded((type: number, sizePtr: number) => {
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const map = worker.resolveHeaderMap(type, true);
      if (!map) return WasmResult.BadArgument;
      mem().writeU32(sizePtr, map.byteSize);
      return WasmResult.Ok;
    }),

    proxy_get_buffer_bytes: guarded((type: number, start: number, length: number, ptrPtr: number, sizePtr: number) => {
      if (type >>> 0 > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const buffer = worker.resolveBuffer(type);
      if (!buffer) return WasmResult.NotFound;
      const from = Math.min(start >>> 0, buffer.bytes.length);
      const to = Math.min(from + (length >>> 0), buffer.bytes.length);
      // Envoy writes nothing, not even a zero size, when there is nothing to copy.
      if (to > from) mem().copyOut(buffer.bytes.subarray(from, to), ptrPtr, sizePtr);
      return WasmResult.Ok;
    }),

    proxy_get_buffer_status: guarded((type: number, lengthPtr: number, flagsPtr: number) => {
      if (type >>> 0 > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const buffer = worker.resolveBuffer(type);
      if (!buffer) return WasmResult.NotFound;
      mem().writeU32(lengthPtr, buffer.bytes.length);
      mem().writeU32(flagsPtr, 0);
      return WasmResult.Ok;
    }),

    proxy_set_buffer_bytes: guarded((type: number, start: number, length: number, dataPtr: number, dataSize: number) => {
      if (type >>> 0 > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const buffer = worker.resolveBuffer(type);
      if (!buffer) return WasmResult.NotFound;
      const data = mem().read(dataPtr, dataSize);
      if (!buffer.replace) return WasmResult.BadArgument;
      const current = buffer.bytes;
      const [from, size] = [start >>> 0, length >>> 0];
      // Envoy's Buffer::copyFrom: prepend, replace all, or append; nothing in between.
      if (from === 0 && size === 0) buffer.replace(Buffer.concat([data, current]));
      else if (from === 0 && size >= current.length) buffer.replace(data);
      else if (from >= current.length) buffer.replace(Buffer.concat([current, data]));
      else return WasmResult.BadArgument;
      return WasmResult.Ok;
    }),

    proxy_http_call: guarded(
      (
        clusterPtr: number,
        clusterSize: number,
        headersPtr: number,
        headersSize: number,
        bodyPtr: number,
        bodySize: number,
        trailersPtr: number,
        trailersSize: number,
        timeoutMs: number,
        tokenPtr: number,
      ) => {
        const cluster = mem().readString(clusterPtr, clusterSize);
        const headers = decodePairs(mem().read(headersPtr, headersSize));
        const body = mem().read(bodyPtr, bodySize);
        const trailers = decodePairs(mem().read(trailersPtr, trailersSize));
        mem().writeU32(tokenPtr, 0);
        const { result, token } = worker.dispatchHttpCall(cluster, headers, body, trailers, timeoutMs);
        mem().writeU32(tokenPtr, token);
        return result;
      },
    ),

    proxy_define_metric: guarded((type: number, namePtr: number, nameSize: number, idPtr: number) => {
      const { result, id } = worker.metricIds.define(type, mem().readString(namePtr, nameSize));
      if (id !== undefined) mem().writeU32(idPtr, id);
      return result;
    }),

    proxy_increment_metric: (id: number, offset: bigint) => worker.metricIds.increment(id >>> 0, offset),

    proxy_record_metric: (id: number, value: bigint) => worker.metricIds.record(id >>> 0, BigInt.asUintN(64, value)),

    proxy_get_metric: guarded((id: number, valuePtr: number) => {
      const { result, value } = worker.metricIds.get(id >>> 0);
      if (value !== undefined) mem().writeU64(valuePtr, value);
      return result;
    }),

    proxy_set_effective_context: (contextId: number) => worker.setEffectiveContext(contextId >>> 0),

    // The host never holds a context pending proxy_done (it does not model VM shutdown).
    proxy_done: () => WasmResult.NotFound,

    // Envoy's foreign functions (compress, declare_property, ...) are not modelled.
    proxy_call_foreign_function: () => WasmResult.NotFound,

    proxy_grpc_call: unsupported("proxy_grpc_call"),
    proxy_grpc_stream: unsupported("proxy_grpc_stream"),
    proxy_grpc_cancel: unsupported("proxy_grpc_cancel"),
    proxy_grpc_close: unsupported("proxy_grpc_close"),
    proxy_grpc_send: unsupported("proxy_grpc_send"),
  };
}
