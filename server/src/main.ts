import { serve } from "@hono/node-server";
import pg from "pg";
import { createApp } from "./app.ts";

function config() {
  const port = Number(process.env.PORT ?? "8081");
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`PORT must be a TCP port number, got "${process.env.PORT}"`);
  }
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error("DATABASE_URL is required (postgres://user:password@host:port/database)");
  return { port, host: process.env.HOST ?? "127.0.0.1", databaseUrl };
}

let cfg: ReturnType<typeof config>;
try {
  cfg = config();
} catch (err) {
  process.stderr.write(`altgate-server: invalid configuration: ${(err as Error).message}\n`);
  process.exit(2);
}

const pool = new pg.Pool({ connectionString: cfg.databaseUrl, max: 4, connectionTimeoutMillis: 2000 });
pool.on("error", () => undefined);

const app = createApp({
  async checkDatabase() {
    await pool.query("select 1");
  },
});

const server = serve({ fetch: app.fetch, port: cfg.port, hostname: cfg.host }, (info) => {
  process.stdout.write(`${JSON.stringify({ level: "info", msg: "listening", address: info.address, port: info.port })}\n`);
});

function shutdown() {
  server.close(() => {
    pool.end().finally(() => process.exit(0));
  });
}
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
