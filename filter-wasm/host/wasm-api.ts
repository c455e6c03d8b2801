/**
 * The slice of the WebAssembly JS API the host uses, typed locally: the repository's TypeScript
 * configuration has no DOM lib, and declaring a global `WebAssembly` namespace here could clash
 * with one a later configuration brings in.
 */

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

export type WasmExport = WasmMemory | ((...args: never[]) => unknown);

export interface WasmInstance {
  readonly exports: Record<string, WasmExport>;
}

/** A compiled module: compile once, instantiate it for every worker. */
export interface WasmModule {
  readonly __brand: "WasmModule";
}

export type ImportFunction = (...args: never[]) => unknown;
export type ImportObject = Record<string, Record<string, ImportFunction>>;

interface ImportDescriptor {
  module: string;
  name: string;
  kind: string;
}

interface WebAssemblyApi {
  Module: { new (bytes: Uint8Array): WasmModule; imports(module: WasmModule): ImportDescriptor[] };
  Instance: new (module: WasmModule, imports: ImportObject) => WasmInstance;
  RuntimeError: new (...args: never[]) => Error;
}

const api = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

export function compileModule(bytes: Uint8Array): WasmModule {
  return new api.Module(bytes);
}

export function moduleImports(module: WasmModule): ImportDescriptor[] {
  return api.Module.imports(module);
}

export function instantiate(module: WasmModule, imports: ImportObject): WasmInstance {
  return new api.Instance(module, imports);
}

/**
 * True for the errors V8 raises when Wasm code itself fails: a trap, or exhausting the stack
 * (Envoy's V8 reports both as a VM failure).
 */
export function isWasmTrap(error: unknown): error is Error {
  return error instanceof api.RuntimeError || (error instanceof RangeError && /call stack/i.test(error.message));
}
