import type { LogLevelName } from "./abi-constants.ts";

/**
 * Where a line came from: the proxy_log hostcall, the module's WASI stdout or stderr (Envoy logs
 * each fd_write at info or error level, one line per call, minus a trailing newline), or the host
 * itself reporting a VM failure as Envoy would.
 */
export type LogSource = "proxy_log" | "stdout" | "stderr" | "host";

export interface LogLine {
  readonly level: LogLevelName;
  readonly message: string;
  readonly source: LogSource;
  readonly workerId: number;
}

export class LogSink {
  readonly lines: LogLine[] = [];

  write(line: LogLine): void {
    this.lines.push(line);
  }

  messages(level?: LogLevelName): string[] {
    return this.lines.filter((l) => level === undefined || l.level === level).map((l) => l.message);
  }
}
