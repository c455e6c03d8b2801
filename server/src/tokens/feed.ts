import { EventEmitter } from "node:events";
import pg from "pg";
import { REVOCATION_CHANNEL } from "./service.ts";

export interface RevokedEntry {
  key: string;
  exp: number;
}

export type FeedRead =
  | { status: 200; body: { cursor: string; revoked: RevokedEntry[] } }
  | { status: 304 }
  | { status: 503 };

export interface FeedStatus {
  /** The first load finished; the feed answers from memory from then on, connected or not. */
  ready: boolean;
  connected: boolean;
  cursor: string | undefined;
  entries: number;
  lastError: string | undefined;
}

export interface FeedOptions {
  connectionString: string;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A query on the listening connection this often finds a half-open TCP connection. */
  pingIntervalMs?: number;
  now?: () => number;
}

interface Entry extends RevokedEntry {
  seq: number;
}

interface FeedEvents {
  connected: [];
  disconnected: [reason: string];
  /** Entries up to this seq are now served. */
  applied: [seq: number];
}

/**
 * The revocation feed of one server replica, served from memory.
 *
 * Loaded at start, then kept current by LISTEN on a dedicated connection: each notification makes
 * the feed read the rows after its last seq. When the connection drops, it reconnects with
 * exponential backoff and, LISTENing again first, reads everything after its last seq, so nothing
 * committed while it was away is missed. While disconnected it keeps answering from memory: no
 * revocation can be committed while the database is down, and a proxy that starts meanwhile still
 * gets the revoked set.
 *
 * Cursor: `<epoch>.<seq>`, where seq is the revocations table's sequence (the same for every replica,
 * so a proxy may alternate between replicas) and epoch names the database's history.
 * - since absent, unparsable, or from another epoch → 200 with every active entry (a full set);
 * - since ≥ this replica's seq → 304 (also when this replica lags behind the one that issued it);
 * - otherwise → 200 with the active entries whose seq is greater than since.
 * Clients merge every 200 into their set and drop entries themselves once exp passes; expiry never
 * changes the cursor. Entries that expired before a delta are simply not in it, which is harmless.
 */
export class RevocationFeed extends EventEmitter<FeedEvents> {
  private entries: Entry[] = [];
  private minExp = Infinity;
  private seq = 0;
  private epoch: string | undefined;
  private ready = false;
  private client: pg.Client | undefined;
  private connected = false;
  private stopped = false;
  private lastError: string | undefined;
  private fetching: Promise<void> | undefined;
  private fetchAgain = false;
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private wakeBackoff: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: FeedOptions) {
    super();
    this.now = opts.now ?? Date.now;
  }

  /** Starts the connection loop; resolves after the first complete load, retrying until then. */
  start(): Promise<void> {
    if (this.loop) throw new Error("feed already started");
    const ready = new Promise<void>((resolve, reject) => (this.readyWaiters = { resolve, reject }));
    this.loop = this.run();
    return ready;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.readyWaiters?.reject(new Error("revocation feed stopped before its first load"));
    this.readyWaiters = undefined;
    this.wakeBackoff?.();
    await this.client?.end().catch(() => undefined);
    await this.loop;
  }

  status(): FeedStatus {
    return {
      ready: this.ready,
      connected: this.connected,
      cursor: this.ready ? this.cursor() : undefined,
      entries: this.entries.length,
      lastError: this.lastError,
    };
  }

  read(since: string | undefined): FeedRead {
    if (!this.ready || this.epoch === undefined) return { status: 503 };
    this.prune();
    const from = this.parseCursor(since);
    if (from !== undefined && from >= this.seq) return { status: 304 };
    const start = from === undefined ? 0 : this.firstAfter(from);
    return {
      status: 200,
      body: { cursor: this.cursor(), revoked: this.entries.slice(start).map(({ key, exp }) => ({ key, exp })) },
    };
  }

  private cursor(): string {
    return `${this.epoch}.${this.seq}`;
  }

  private parseCursor(since: string | undefined): number | undefined {
    const m = since === undefined ? null : /^([0-9a-f]+)\.(\d{1,15})$/.exec(since);
    if (!m || m[1] !== this.epoch) return undefined;
    return Number(m[2]);
  }

  private firstAfter(seq: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private prune(): void {
    const nowS = Math.floor(this.now() / 1000);
    if (nowS < this.minExp) return;
    this.entries = this.entries.filter((e) => e.exp > nowS);
    this.minExp = this.entries.reduce((m, e) => Math.min(m, e.exp), Infinity);
  }

  private async run(): Promise<void> {
    const min = this.opts.minBackoffMs ?? 100;
    const max = this.opts.maxBackoffMs ?? 1000;
    let backoff = min;
    while (!this.stopped) {
      const client = new pg.Client({
        connectionString: this.opts.connectionString,
        connectionTimeoutMillis: 3000,
        query_timeout: 5000,
        keepAlive: true,
        application_name: "altgate-revocation-feed",
      });
      const closed = new Promise<string>((resolve) => {
        client.once("error", (err) => resolve(err.message));
        client.once("end", () => resolve("connection ended"));
      });
      // Late errors after the first one must not crash the process as unhandled 'error' events.
      client.on("error", () => undefined);
      this.client = client;
      let ping: NodeJS.Timeout | undefined;
      try {
        await client.connect();
        if (this.stopped) break;
        client.on("notification", (msg) => {
          if (msg.channel === REVOCATION_CHANNEL && Number(msg.payload) > this.seq) this.scheduleFetch();
        });
        // LISTEN before reading: a revocation committed in between is then both read and notified.
        await client.query(`listen ${client.escapeIdentifier(REVOCATION_CHANNEL)}`);
        await this.loadEpoch(client);
        await this.fetch(client);
        this.connected = true;
        this.lastError = undefined;
        backoff = min;
        this.markReady();
        this.emit("connected");
        ping = setInterval(() => {
          client.query("select 1").catch(() => client.end().catch(() => undefined));
        }, this.opts.pingIntervalMs ?? 5000);
        ping.unref();
        this.lastError = await closed;
      } catch (err) {
        this.lastError = (err as Error).message;
      } finally {
        clearInterval(ping);
        this.connected = false;
        this.client = undefined;
        await client.end().catch(() => undefined);
      }
      if (this.stopped) break;
      this.emit("disconnected", this.lastError ?? "unknown");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, backoff * (0.5 + Math.random() / 2));
        this.wakeBackoff = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeBackoff = undefined;
      backoff = Math.min(backoff * 2, max);
    }
  }

  private markReady(): void {
    this.ready = true;
    this.readyWaiters?.resolve();
    this.readyWaiters = undefined;
  }

  private async loadEpoch(client: pg.Client): Promise<void> {
    const { rows } = await client.query<{ epoch: string }>(
      `with ins as (insert into feed_epoch default values on conflict do nothing returning epoch)
       select epoch from ins union all select epoch from feed_epoch limit 1`,
    );
    const epoch = rows[0]!.epoch.replace(/-/g, "").slice(0, 12);
    if (this.epoch !== undefined && epoch !== this.epoch) {
      // Another database now: its seq numbers mean nothing against ours.
      this.entries = [];
      this.minExp = Infinity;
      this.seq = 0;
    }
    this.epoch = epoch;
  }

  private scheduleFetch(): void {
    if (this.fetching) {
      this.fetchAgain = true;
      return;
    }
    this.fetching = (async () => {
      do {
        this.fetchAgain = false;
        const client = this.client;
        if (!client) return;
        try {
          await this.fetch(client);
        } catch {
          // Unsure what it missed, the feed drops the connection: the reconnect reloads after its seq.
          await client.end().catch(() => undefined);
          return;
        }
      } while (this.fetchAgain);
    })().finally(() => (this.fetching = undefined));
  }

  private async fetch(client: pg.Client): Promise<void> {
    const nowS = Math.floor(this.now() / 1000);
    // One statement, one snapshot: the newest row comes along even when expired, so the cursor
    // advances past it, and no row can commit between reading the rows and reading the maximum.
    const { rows } = await client.query<{ seq: string; key: string; exp: string }>(
      `select seq, key, exp from revocations
        where seq > $1 and (exp > $2 or seq = (select max(seq) from revocations))
        order by seq`,
      [this.seq, nowS],
    );
    if (rows.length === 0) return;
    for (const r of rows) {
      const entry = { seq: Number(r.seq), key: r.key, exp: Number(r.exp) };
      if (entry.seq <= this.seq) continue;
      if (entry.exp > nowS) {
        this.entries.push(entry);
        this.minExp = Math.min(this.minExp, entry.exp);
      }
      this.seq = entry.seq;
    }
    this.emit("applied", this.seq);
  }
}
