import type { RevocationFeed } from "../../src/tokens/feed.ts";

export function keys(feed: RevocationFeed, since?: string): string[] {
  const r = feed.read(since);
  return r.status === 200 ? r.body.revoked.map((e) => e.key) : [];
}

/** Resolves with the milliseconds waited once the feed serves `key`; rejects after timeoutMs. */
export function waitForKey(feed: RevocationFeed, key: string, timeoutMs = 5000): Promise<number> {
  const start = performance.now();
  if (keys(feed).includes(key)) return Promise.resolve(0);
  return new Promise((resolve, reject) => {
    const onApplied = () => {
      if (!keys(feed).includes(key)) return;
      cleanup();
      resolve(performance.now() - start);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`feed did not serve ${key.slice(0, 12)}… within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      feed.off("applied", onApplied);
    };
    feed.on("applied", onApplied);
  });
}

export function once(feed: RevocationFeed, event: "connected" | "disconnected", timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event within ${timeoutMs} ms`)), timeoutMs);
    feed.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function summary(samples: number[]): { n: number; p50: number; p99: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 100) / 100;
  return { n: s.length, p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), max: round(s[s.length - 1]!) };
}
