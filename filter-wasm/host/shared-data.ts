import { WasmResult } from "./abi-constants.ts";
import { decodeUtf8, encodeUtf8 } from "./memory.ts";

export interface SharedEntry {
  readonly value: Uint8Array;
  readonly cas: number;
}

/**
 * Proxy-wide key/value store, one namespace per vm_id, with proxy-wasm-cpp-host's CAS rules:
 * every successful write gets a fresh CAS from one process-wide counter (never 0); a write with
 * cas 0 is unconditional; a non-zero cas must equal the entry's current one; a write to a missing
 * key always succeeds whatever its cas.
 */
export class SharedData {
  private readonly namespaces = new Map<string, Map<string, SharedEntry>>();
  private nextCas = 1;

  get(key: string, vmId = ""): SharedEntry | undefined {
    return this.namespaces.get(vmId)?.get(key);
  }

  /** Every key of one vm_id's namespace, in insertion order: shared data never drops a key. */
  keys(vmId = ""): string[] {
    return [...(this.namespaces.get(vmId)?.keys() ?? [])];
  }

  getText(key: string, vmId = ""): string | undefined {
    const entry = this.get(key, vmId);
    return entry && decodeUtf8(entry.value);
  }

  set(key: string, value: Uint8Array | string, cas = 0, vmId = ""): WasmResult {
    let namespace = this.namespaces.get(vmId);
    if (!namespace) this.namespaces.set(vmId, (namespace = new Map()));
    const existing = namespace.get(key);
    if (existing && cas !== 0 && cas !== existing.cas) return WasmResult.CasMismatch;
    const bytes = typeof value === "string" ? encodeUtf8(value) : value.slice();
    namespace.set(key, { value: bytes, cas: this.takeCas() });
    return WasmResult.Ok;
  }

  private takeCas(): number {
    const cas = this.nextCas;
    this.nextCas = (this.nextCas + 1) >>> 0 || 1;
    return cas;
  }
}
