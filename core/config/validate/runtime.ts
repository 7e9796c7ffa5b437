/**
 * The `reconcile` and `log` sections: how often the agent re-converges and
 * how it logs.
 *
 * @module
 */
import { DEFAULT_RECONCILE_INTERVAL_MS, type LogConfig } from "../types.ts";
import type { Reader } from "../reader.ts";
import { parseDuration } from "../duration.ts";

/** The `reconcile` section as the agent uses it. */
export interface ReconcileSettings {
  /** The tick in milliseconds (at least 100). */
  intervalMs: number;
  /** Extra passes while peers wait for a handshake (see the config type). */
  handshakePoll: boolean;
}

/** Reads `reconcile`: the tick and whether handshakes are polled for. */
export function readReconcile(r: Reader, raw: unknown): ReconcileSettings {
  const rec = r.map(raw, "reconcile", ["interval", "handshakePoll"]);
  return {
    intervalMs: readInterval(r, rec.interval),
    handshakePoll: r.bool(
      rec.handshakePoll,
      "reconcile.handshakePoll",
      true,
    ),
  };
}

function readInterval(r: Reader, interval: unknown): number {
  const rec = { interval };
  if (rec.interval === undefined || rec.interval === null) {
    return DEFAULT_RECONCILE_INTERVAL_MS;
  }
  if (typeof rec.interval !== "string" && typeof rec.interval !== "number") {
    r.report("reconcile.interval", "expected a duration such as 30s");
    return DEFAULT_RECONCILE_INTERVAL_MS;
  }
  try {
    const ms = parseDuration(rec.interval);
    if (ms < 100) {
      r.report(
        "reconcile.interval",
        `${rec.interval} is below the minimum 100ms`,
      );
    }
    return ms;
  } catch (e) {
    r.report("reconcile.interval", (e as Error).message);
    return DEFAULT_RECONCILE_INTERVAL_MS;
  }
}

/** Reads `log`. */
export function readLog(r: Reader, raw: unknown): LogConfig {
  const log = r.map(raw, "log", ["format", "level"]);
  const format = r.oneOf(
    log.format,
    "log.format",
    ["json", "logfmt"] as const,
    "json",
  );
  const level = r.oneOf(
    log.level,
    "log.level",
    ["debug", "info", "warn", "error"] as const,
    "info",
  );
  return { format, level };
}
