/**
 * Structured logging: one JSON object (or logfmt line) per event.
 *
 * Keys that name secrets are always redacted, whatever the caller passes.
 *
 * @module
 */
import type { LogFormat, LogLevel } from "../config/types.ts";

/** Extra fields of a log line. */
export type LogFields = Record<string, unknown>;

/** The logging interface every part of the agent receives. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  with(fields: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
};
const SECRET_KEY = /private.?key|secret|token|password|preshared/i;

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** @default "json" */
  format?: LogFormat;
  /** @default "info" */
  level?: LogLevel;
  /** Where lines go. @default a line on stderr */
  sink?: (line: string) => void;
  /** Clock. @default Date.now */
  now?: () => number;
  /**
   * Prefix each line with its syslog priority (`<4>` for a warning), which
   * journald strips and records, so `journalctl -p warning` finds problems.
   * @default on when `$JOURNAL_STREAM` is set (stderr goes to the journal)
   */
  journal?: boolean;
}

/** sd-daemon(3) priorities by level. */
const PRIORITY: Record<LogLevel, number> = {
  debug: 7,
  info: 6,
  warn: 4,
  error: 3,
};

/**
 * Whether stderr goes to the journal: systemd sets `$JOURNAL_STREAM` for a
 * service whose output it connects to journald.
 */
export function underJournald(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): boolean {
  try {
    return env("JOURNAL_STREAM") !== undefined;
  } catch {
    return false; // no env permission: not ours to know
  }
}

function scrub(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEY.test(k)) out[k] = "(redacted)";
    else if (v instanceof Error) out[k] = v.message;
    else out[k] = v;
  }
  return out;
}

function logfmtValue(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v) ?? "null";
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

const encoder = new TextEncoder();

function stderrLine(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

/** Creates a logger. */
export function createLogger(
  options: LoggerOptions = {},
  base: LogFields = {},
): Logger {
  const format = options.format ?? "json";
  const threshold = RANK[options.level ?? "info"];
  const sink = options.sink ?? stderrLine;
  const now = options.now ?? Date.now;
  const journal = options.journal ?? underJournald();
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (RANK[level] < threshold) return;
    const all = {
      time: new Date(now()).toISOString(),
      level,
      msg,
      ...scrub({ ...base, ...fields }),
    };
    const line = format === "json"
      ? JSON.stringify(all)
      : Object.entries(all).map(([k, v]) => `${k}=${logfmtValue(v)}`).join(
        " ",
      );
    sink(journal ? `<${PRIORITY[level]}>${line}` : line);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    with: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return createLogger({ sink: () => {} });
}
