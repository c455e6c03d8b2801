/**
 * Bounded concurrency with a bounded queue, per model: at most `max` calls in flight, at most
 * `maxQueue` waiting; beyond that a caller is refused at once (503) rather than piling up memory
 * and latency. A waiter gives up when its deadline passes (504). Pure (timers only).
 */
export class QueueFull extends Error {
  constructor(readonly queued: number) {
    super(`queue full (${queued} waiting)`);
  }
}
export class QueueTimeout extends Error {
  constructor(readonly waitedMs: number) {
    super(`no slot within ${waitedMs} ms`);
  }
}

export type Release = () => void;

interface Waiter {
  resolve(r: Release): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class Limiter {
  private active = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly max: number,
    readonly maxQueue: number,
  ) {}

  get inFlight(): number {
    return this.active;
  }
  get queued(): number {
    return this.waiters.length;
  }

  /** A slot, now or once one frees up within `waitMs`. Call the release exactly once (more is harmless). */
  acquire(waitMs: number): Promise<Release> {
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiters.length >= this.maxQueue) return Promise.reject(new QueueFull(this.waiters.length));
    return new Promise<Release>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new QueueTimeout(waitMs));
        }, Math.max(0, waitMs)),
      };
      this.waiters.push(w);
    });
  }

  private releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      if (next) {
        // The slot passes straight to the next waiter: `active` stays the same.
        clearTimeout(next.timer);
        next.resolve(this.releaser());
      } else {
        this.active--;
      }
    };
  }
}
