import { fileURLToPath } from "node:url";
import pg from "pg";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate as runMigrations } from "drizzle-orm/node-postgres/migrator";
import * as schema from "./schema.ts";

export { schema };
export type Db = NodePgDatabase<typeof schema>;

export interface Database {
  pool: pg.Pool;
  db: Db;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Pool size; every replica holds this many connections at most, plus one for the feed. */
  max?: number;
  connectTimeoutMs?: number;
  /** Bounds every statement so a wedged server turns into an error rather than a hung request. */
  statementTimeoutMs?: number;
}

export function createDatabase(url: string, opts: DatabaseOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 8,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 2000,
    statement_timeout: opts.statementTimeoutMs ?? 5000,
    keepAlive: true,
  });
  // Idle clients emit errors when the server goes away; the next checkout reconnects, and the
  // request that needed the database gets a DatabaseUnavailableError from withDatabase().
  pool.on("error", () => undefined);
  return { pool, db: drizzle(pool, { schema }), close: () => pool.end() };
}

export const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

// Arbitrary constant shared by every replica: only one applies migrations at a time, the others
// wait and then find nothing left to do (drizzle's migrator alone is not safe to run concurrently).
const MIGRATION_LOCK = 0x616c7467;

/** Applies the committed migrations in server/drizzle; safe to call from several replicas at once. */
export async function migrate(database: Pick<Database, "pool">): Promise<void> {
  const client = await database.pool.connect();
  try {
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
    try {
      await runMigrations(drizzle(client, { schema }), { migrationsFolder });
    } finally {
      await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

/** The database could not be reached or went away mid-statement; the route layer answers 503. */
export class DatabaseUnavailableError extends Error {
  override readonly name = "DatabaseUnavailableError";
  constructor(readonly reason: string, options?: { cause?: unknown }) {
    super(`database unavailable: ${reason}`, options);
  }
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "EAI_AGAIN"]);

/**
 * True for failures of the connection rather than of the statement: SQLSTATE class 08
 * (connection exception), 57P01-57P03 (shutdown, crash, cannot connect now), statement timeouts,
 * socket errors, and pg's own messages for a dropped or never-established connection.
 */
export function isConnectionError(err: unknown): boolean {
  // drizzle wraps driver errors ("Failed query: ...") and keeps the original as the cause.
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") {
      if (CONNECTION_CODES.has(code) || code.startsWith("08") || ["57P01", "57P02", "57P03", "57014"].includes(code)) return true;
    }
    if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED/i.test(e.message)) {
      return true;
    }
  }
  return false;
}

function innermostMessage(err: unknown): string {
  let e = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

/** Runs a database operation, turning connection failures into DatabaseUnavailableError. */
export async function withDatabase<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof DatabaseUnavailableError) throw err;
    if (isConnectionError(err)) throw new DatabaseUnavailableError(innermostMessage(err), { cause: err });
    throw err;
  }
}
