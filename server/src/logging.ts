/**
 * Structured JSON logs (pino): one line per request with its request id, and lines for start-up
 * and upstream failures. No header is ever logged; as a second guard, pino's redaction censors
 * any field that could carry token material should one be added by mistake.
 */
import { pino, type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "./config.ts";

export type { Logger };

// Top-level paths only: wildcard paths cost time on every line, and log lines here are flat.
const REDACT = ["authorization", "headers", "cookie", "token", "signature", '["x-altgate-signature"]'];

export function createLogger(opts: { level?: LogLevel; destination?: DestinationStream } = {}): Logger {
  let destination = opts.destination;
  if (!destination) {
    // Lines are written in batches of up to 4 KiB (one write for many lines under load), and at
    // least every 250 ms so that a quiet server's lines still show up promptly; main.ts flushes
    // at shutdown.
    const boom = pino.destination({ fd: 1, sync: false, minLength: 4096 });
    setInterval(() => {
      try {
        boom.flush();
      } catch {
        // Destroyed at shutdown.
      }
    }, 250).unref();
    destination = boom;
  }
  return pino(
    {
      level: opts.level ?? "info",
      base: { service: "altgate-server" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: "[redacted]" },
    },
    destination,
  );
}

/** A logger that discards everything (tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
