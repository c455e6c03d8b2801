import { isAlive, sleep, tail, type Managed } from "./processes.ts";

export class ComponentNotReady extends Error {
  constructor(readonly component: string, reason: string, logFile: string) {
    super(`${component} did not become ready: ${reason}\n--- last lines of ${logFile} ---\n${tail(logFile)}\n---`);
  }
}

/**
 * Polls `probe` until it returns true. Fails early, naming the component and showing its log,
 * when the process exits or the deadline passes.
 */
export async function waitUntilReady(
  proc: Pick<Managed, "name" | "pid" | "logFile">,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(proc.pid)) throw new ComponentNotReady(proc.name, `the process exited before ${what}`, proc.logFile);
    try {
      if (await probe()) return;
    } catch {
      // Not accepting connections yet.
    }
    await sleep(200);
  }
  throw new ComponentNotReady(proc.name, `no ${what} within ${timeoutMs / 1000} s`, proc.logFile);
}

export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}
