import { WasiErrno, type LogLevelName } from "./abi-constants.ts";
import type { VirtualClock } from "./clock.ts";
import type { LogSource } from "./log-sink.ts";
import { encodeUtf8, MemoryFault, type ModuleMemory } from "./memory.ts";
import type { ImportFunction } from "./wasm-api.ts";

export interface WasiHost {
  readonly memory: ModuleMemory;
  readonly clock: VirtualClock;
  readonly env: readonly (readonly [string, string])[];
  log(level: LogLevelName, message: string, source: LogSource): void;
  randomBytes(length: number): Uint8Array;
  /** Unwinds the module: the brief treats proc_exit as fatal to the VM. */
  exit(code: number): never;
}

/** proxy-wasm-cpp-host caps one random_get at 64 KiB. */
const RANDOM_GET_MAX_BYTES = 64 * 1024;

function faultsToErrno<A extends unknown[]>(fn: (...args: A) => number): (...args: A) => number {
  return (...args) => {
    try {
      return fn(...args);
    } catch (error) {
      if (error instanceof MemoryFault) return WasiErrno.Fault;
      throw error;
    }
  };
}

/**
 * The wasi_snapshot_preview1 functions Envoy provides that an AssemblyScript module built with
 * the WASI shim can import. Envoy has no files, arguments or stdin: fd_write is its log.
 */
export function createWasiImports(host: WasiHost): Record<string, ImportFunction> {
  const readU32 = (ptr: number) => new DataView(host.memory.read(ptr, 4).buffer).getUint32(0, true);
  const envStrings = () => host.env.map(([k, v]) => encodeUtf8(`${k}=${v}\0`));

  return {
    fd_write: faultsToErrno((fd: number, iovs: number, iovsLen: number, writtenPtr: number) => {
      const source = fd === 1 ? "stdout" : fd === 2 ? "stderr" : undefined;
      if (!source) return WasiErrno.Badf;
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < iovsLen >>> 0; i++) {
        const base = (iovs >>> 0) + i * 8;
        chunks.push(host.memory.read(readU32(base), readU32(base + 4)));
      }
      const bytes = Buffer.concat(chunks);
      if (bytes.length > 0) {
        const text = bytes.toString("utf8");
        host.log(source === "stdout" ? "info" : "error", text.endsWith("\n") ? text.slice(0, -1) : text, source);
      }
      host.memory.writeU32(writtenPtr, bytes.length);
      return WasiErrno.Success;
    }),

    proc_exit: (code: number) => host.exit(code),

    clock_time_get: faultsToErrno((clockId: number, _precision: bigint, timePtr: number) => {
      if (clockId === 0) host.memory.writeU64(timePtr, host.clock.realtimeNs);
      else if (clockId === 1) host.memory.writeU64(timePtr, host.clock.monotonicNs);
      else return WasiErrno.Notsup;
      return WasiErrno.Success;
    }),

    random_get: faultsToErrno((bufPtr: number, length: number) => {
      if (length >>> 0 > RANDOM_GET_MAX_BYTES) return WasiErrno.Inval;
      host.memory.write(bufPtr, host.randomBytes(length >>> 0));
      return WasiErrno.Success;
    }),

    environ_sizes_get: faultsToErrno((countPtr: number, bufSizePtr: number) => {
      const strings = envStrings();
      host.memory.writeU32(countPtr, strings.length);
      host.memory.writeU32(bufSizePtr, strings.reduce((n, s) => n + s.length, 0));
      return WasiErrno.Success;
    }),

    environ_get: faultsToErrno((arrayPtr: number, bufPtr: number) => {
      let array = arrayPtr >>> 0;
      let buf = bufPtr >>> 0;
      for (const s of envStrings()) {
        host.memory.writeU32(array, buf);
        host.memory.write(buf, s);
        array += 4;
        buf += s.length;
      }
      return WasiErrno.Success;
    }),

    args_sizes_get: faultsToErrno((countPtr: number, bufSizePtr: number) => {
      host.memory.writeU32(countPtr, 0);
      host.memory.writeU32(bufSizePtr, 0);
      return WasiErrno.Success;
    }),

    args_get: () => WasiErrno.Success,
  };
}
