import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, writeFileSync, readFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { repoRoot, log } from "./paths.ts";

/**
 * Every process the harness starts is registered here, in memory and in a file that a detached
 * reaper watches. The reaper kills what is left if this Node process dies without tearing down
 * (SIGKILL, a crashed test runner), so no run leaves a component behind.
 */
export interface Managed {
  name: string;
  pid: number;
  /** Components run in their own process group so that a stop reaches their children too. */
  group: boolean;
  /** The signal that shuts the component down cleanly and quickly. */
  stopSignal: NodeJS.Signals;
  logFile: string;
  child?: ChildProcess;
}

const managed = new Map<number, Managed>();
let registryFile: string | undefined;
let reaperStarted = false;

function persist(): void {
  if (!registryFile) return;
  const entries = [...managed.values()].map(({ name, pid, group, stopSignal }) => ({ name, pid, group, stopSignal }));
  writeFileSync(registryFile, JSON.stringify(entries));
}

export function useRegistry(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  registryFile = file;
  persist();
  if (reaperStarted) return;
  reaperStarted = true;
  const reaper = spawn(process.execPath, [join(repoRoot, "test/harness/reaper.mjs"), String(process.pid), file], {
    detached: true,
    stdio: "ignore",
  });
  reaper.unref();
}

export function register(entry: Managed): void {
  managed.set(entry.pid, entry);
  persist();
}

export function unregister(pid: number): void {
  managed.delete(pid);
  persist();
}

export function registered(): Managed[] {
  return [...managed.values()];
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as another user: PostgreSQL refuses to run as root. */
  uid?: number;
  gid?: number;
  stopSignal?: NodeJS.Signals;
}

export function spawnComponent(opts: SpawnOptions): Managed {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const fd = openSync(opts.logFile, "a");
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd ?? repoRoot,
    env: opts.env ?? process.env,
    stdio: ["ignore", fd, fd],
    detached: true,
    uid: opts.uid,
    gid: opts.gid,
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${opts.name}: could not start ${opts.command}`);
  child.unref();
  const entry: Managed = {
    name: opts.name,
    pid: child.pid,
    group: true,
    stopSignal: opts.stopSignal ?? "SIGTERM",
    logFile: opts.logFile,
    child,
  };
  register(entry);
  child.once("exit", () => unregister(entry.pid));
  return entry;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signal(entry: Pick<Managed, "pid" | "group">, sig: NodeJS.Signals): void {
  try {
    process.kill(entry.group ? -entry.pid : entry.pid, sig);
  } catch {
    // Already gone.
  }
}

/** Sends the component's stop signal, then SIGKILL after the grace period; resolves once it is gone. */
export async function stopProcess(entry: Managed, graceMs = 10_000): Promise<void> {
  const gone = () => !isAlive(entry.pid) && (!entry.group || !groupAlive(entry.pid));
  signal(entry, entry.stopSignal);
  const deadline = Date.now() + graceMs;
  while (!gone() && Date.now() < deadline) await sleep(100);
  if (!gone()) {
    log(entry.name, `did not stop within ${graceMs} ms; killing`);
    signal(entry, "SIGKILL");
    while (!gone()) await sleep(50);
  }
  unregister(entry.pid);
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function tail(file: string, lines = 40): string {
  if (!existsSync(file)) return "(no log written)";
  const all = readFileSync(file, "utf8").trimEnd().split("\n");
  return all.slice(-lines).join("\n");
}
