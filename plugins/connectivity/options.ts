/**
 * Options of the `endpoint-search` plugin: its four timers, written as
 * durations (`2.5s`, `500ms`, `1m`) like every other duration of the site
 * config, and whether searches are coordinated with the peer's.
 *
 * ```yaml
 * plugins:
 *   endpoint-search:
 *     switchInterval: 2.5s
 *     downAfter: 30s
 *     downSwitchInterval: 15s
 *     silentAfter: 60s
 *     coordinate: true   # announce searches, align to the peer's
 * ```
 *
 * @module
 */
import type { ConfigProblem } from "../../core/config/types.ts";
import { parseDuration } from "../../core/config/duration.ts";
import type { OptionsResult } from "../../core/plugins/types.ts";
import { SEARCH_TIMERS, type SearchTimers } from "./search.ts";

/** Option key → timer field, with the bounds each must keep. */
const KEYS = {
  switchInterval: "switchIntervalMs",
  downAfter: "downAfterMs",
  downSwitchInterval: "downSwitchIntervalMs",
  silentAfter: "silentAfterMs",
} as const satisfies Record<string, keyof SearchTimers>;

type Key = keyof typeof KEYS;

/**
 * A candidate must get time for a handshake round trip; WireGuard retries
 * an initiation after 5 s, so a slot longer than 2 min tries nothing more.
 */
const SWITCH_MIN_MS = 500;
const SWITCH_MAX_MS = 120_000;

function isKey(key: string): key is Key {
  return Object.hasOwn(KEYS, key);
}

/**
 * Parses the options of `endpoint-search` (the entry's keys except
 * `enabled`); absent keys keep {@linkcode SEARCH_TIMERS}. Problems carry
 * the key as path (the config validator prefixes `plugins.endpoint-search.`).
 *
 * @example
 * ```ts
 * import { parseSearchOptions } from "./options.ts";
 *
 * parseSearchOptions({ switchInterval: "1s" });
 * // { ok: true, options: { switchIntervalMs: 1000, downAfterMs: 30000, ... } }
 * ```
 */
export function parseSearchOptions(
  raw: Record<string, unknown>,
): OptionsResult<SearchTimers> {
  const problems: ConfigProblem[] = [];
  const timers: SearchTimers = { ...SEARCH_TIMERS };
  for (const [key, value] of Object.entries(raw)) {
    if (key === "coordinate") {
      if (typeof value === "boolean") timers.coordinate = value;
      else problems.push({ path: key, message: "must be true or false" });
      continue;
    }
    if (!isKey(key)) {
      problems.push({
        path: key,
        message: `unknown key; "endpoint-search" takes ${
          [...Object.keys(KEYS), "coordinate"].map((k) => `"${k}"`).join(", ")
        }`,
      });
      continue;
    }
    if (typeof value !== "string" && typeof value !== "number") {
      problems.push({
        path: key,
        message: "must be a duration such as 2.5s or 500ms",
      });
      continue;
    }
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (e) {
      problems.push({ path: key, message: (e as Error).message });
      continue;
    }
    if (ms <= 0) {
      problems.push({ path: key, message: `must be above 0, got "${value}"` });
      continue;
    }
    timers[KEYS[key]] = ms;
  }
  const sw = timers.switchIntervalMs;
  if (
    raw["switchInterval"] !== undefined &&
    !problems.some((p) => p.path === "switchInterval") &&
    (sw < SWITCH_MIN_MS || sw > SWITCH_MAX_MS)
  ) {
    problems.push({
      path: "switchInterval",
      message:
        `must be between 500ms and 2m (a handshake needs a round trip), got "${
          raw["switchInterval"]
        }"`,
    });
  }
  if (problems.length === 0 && timers.downSwitchIntervalMs < sw) {
    problems.push({
      path: "downSwitchInterval",
      message:
        "must not be shorter than switchInterval (a down peer is searched more slowly, not faster)",
    });
  }
  if (problems.length === 0 && timers.silentAfterMs <= 25_000) {
    problems.push({
      path: "silentAfter",
      message:
        "must be above 25s: a healthy peer sends a keepalive only every 25 s",
    });
  }
  return problems.length
    ? { ok: false, problems }
    : { ok: true, options: timers };
}
