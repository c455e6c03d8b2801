export interface Timer {
  cancel(): void;
}

interface Scheduled {
  at: number;
  order: number;
  run: () => void;
  cancelled: boolean;
}

/**
 * The proxy's only source of time. It moves when, and only when, a test advances it; timers due
 * on the way fire in time order (ties in scheduling order) with the clock set to their due time,
 * as Envoy's simulated time does.
 */
export class VirtualClock {
  private now: number;
  private readonly timers: Scheduled[] = [];
  private scheduled = 0;

  constructor(private readonly startMs: number) {
    this.now = startMs;
  }

  get nowMs(): number {
    return this.now;
  }

  /** Wall-clock time since the Unix epoch, what Envoy's systemTime() gives. */
  get realtimeNs(): bigint {
    return BigInt(this.now) * 1_000_000n;
  }

  /** Monotonic time with an arbitrary origin: the proxy's start. */
  get monotonicNs(): bigint {
    return BigInt(this.now - this.startMs) * 1_000_000n;
  }

  schedule(delayMs: number, run: () => void): Timer {
    const entry: Scheduled = { at: this.now + delayMs, order: this.scheduled++, run, cancelled: false };
    this.timers.push(entry);
    return { cancel: () => void (entry.cancelled = true) };
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot advance the clock by ${ms} ms`);
    const target = this.now + ms;
    for (let next = this.takeDue(target); next; next = this.takeDue(target)) {
      this.now = next.at;
      next.run();
    }
    this.now = target;
  }

  private takeDue(target: number): Scheduled | undefined {
    let best = -1;
    for (let i = 0; i < this.timers.length; i++) {
      const t = this.timers[i]!;
      if (t.cancelled || t.at > target) continue;
      const b = this.timers[best];
      if (!b || t.at < b.at || (t.at === b.at && t.order < b.order)) best = i;
    }
    if (best === -1) {
      this.dropCancelled();
      return undefined;
    }
    return this.timers.splice(best, 1)[0];
  }

  private dropCancelled(): void {
    for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]!.cancelled) this.timers.splice(i, 1);
  }
}
