import type pg from "pg";

/**
 * Collects "token used at" times in memory and writes them with one UPDATE per flush, so that
 * introspection never writes per request. A failed flush keeps its entries for the next one;
 * what is pending when the process is SIGKILLed is lost, which only makes last_used_at older.
 */
export class LastUsedBatcher {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly pool: pg.Pool, intervalMs: number) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  touch(id: string, atMs: number): void {
    const prev = this.pending.get(id);
    if (prev === undefined || prev < atMs) this.pending.set(id, atMs);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Writes what is pending; flushes never overlap. Rejects when the write failed (entries are kept). */
  flush(): Promise<void> {
    const run = this.chain.then(() => this.write());
    this.chain = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      // greatest() ignores NULL, and never moves the time backwards when flushes race across replicas.
      await this.pool.query(
        `update api_tokens as t set last_used_at = greatest(t.last_used_at, v.used_at)
           from unnest($1::uuid[], $2::timestamptz[]) as v(id, used_at)
          where t.id = v.id`,
        [[...batch.keys()], [...batch.values()].map((ms) => new Date(ms))],
      );
    } catch (err) {
      for (const [id, at] of batch) this.touch(id, at);
      throw err;
    }
  }
}
