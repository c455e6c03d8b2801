import { describe, expect, it } from "vitest";
import { Limiter, QueueFull, QueueTimeout } from "../src/limiter.ts";

describe("limiter", () => {
  it("lets `max` through, queues up to `maxQueue`, refuses the rest", async () => {
    const l = new Limiter(2, 1);
    const a = await l.acquire(1000);
    const b = await l.acquire(1000);
    expect(l.inFlight).toBe(2);
    const c = l.acquire(1000);
    expect(l.queued).toBe(1);
    await expect(l.acquire(1000)).rejects.toBeInstanceOf(QueueFull);
    a();
    const cr = await c;
    expect(l.inFlight).toBe(2);
    expect(l.queued).toBe(0);
    b();
    cr();
    expect(l.inFlight).toBe(0);
  });

  it("ignores a second release", async () => {
    const l = new Limiter(1, 0);
    const r = await l.acquire(10);
    r();
    r();
    expect(l.inFlight).toBe(0);
    const again = await l.acquire(10);
    expect(l.inFlight).toBe(1);
    again();
  });

  it("gives up waiting after the deadline, and the slot goes on to the next", async () => {
    const l = new Limiter(1, 5);
    const r = await l.acquire(10);
    const started = Date.now();
    await expect(l.acquire(30)).rejects.toBeInstanceOf(QueueTimeout);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(l.queued).toBe(0);
    const next = l.acquire(1000);
    r();
    (await next)();
    expect(l.inFlight).toBe(0);
  });

  it("serves waiters in order", async () => {
    const l = new Limiter(1, 10);
    const first = await l.acquire(1000);
    const order: number[] = [];
    const waits = [1, 2, 3].map((i) => l.acquire(1000).then((r) => (order.push(i), r())));
    first();
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
  });
});
