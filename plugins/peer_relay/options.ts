/**
 * Options of the `peer-relay` plugin.
 *
 * @module
 */
import { parseDuration } from "../../core/config/duration.ts";
import type { ConfigProblem } from "../../core/config/types.ts";
import type { OptionsResult } from "../../core/plugins/types.ts";
import type { PathTimers } from "./path.ts";
import { parsePortRange } from "./table.ts";

/** The plugin's options, defaults applied. */
export interface RelayOptions {
  /** This box relays for others (and says so in discovery). @default false */
  serve: boolean;
  /** UDP ports of the legs, two per pair. @default [51900, 51999] */
  ports: [number, number];
  /** Pairs served at once. @default 16 */
  maxPairs: number;
  /** Bytes per second forwarded for all pairs together. @default 12_500_000 (100 Mbit/s) */
  maxBytesPerSecond: number;
  /** UDP port of the control service on the mesh address. @default 51899 */
  controlPort: number;
  /** Relays with a higher priority are tried first. @default 0 */
  priority: number;
  /** Overrides of the path timers (`after`, `probeInterval`). */
  timers: Partial<PathTimers>;
}

/** The defaults. */
export const RELAY_DEFAULTS: RelayOptions = {
  serve: false,
  ports: [51900, 51999],
  maxPairs: 16,
  maxBytesPerSecond: 12_500_000,
  controlPort: 51899,
  priority: 0,
  timers: {},
};

const KNOWN = [
  "serve",
  "ports",
  "maxPairs",
  "maxBytesPerSecond",
  "controlPort",
  "priority",
  "after",
  "probeInterval",
];

function positiveInt(v: unknown, max: number): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= max
    ? v
    : undefined;
}

/** Parses the plugin entry's options; every problem is reported with its key. */
export function parseRelayOptions(
  raw: Record<string, unknown>,
): OptionsResult<RelayOptions> {
  const problems: ConfigProblem[] = [];
  const o: RelayOptions = { ...RELAY_DEFAULTS, timers: {} };
  for (const key of Object.keys(raw)) {
    if (!KNOWN.includes(key)) {
      problems.push({
        path: key,
        message: `unknown option: use one of ${KNOWN.join(", ")}`,
      });
    }
  }
  if (raw.serve !== undefined) {
    if (typeof raw.serve === "boolean") o.serve = raw.serve;
    else problems.push({ path: "serve", message: "must be true or false" });
  }
  if (raw.ports !== undefined) {
    try {
      o.ports = parsePortRange(String(raw.ports));
    } catch (e) {
      problems.push({ path: "ports", message: (e as Error).message });
    }
  }
  const ints: [keyof RelayOptions & string, number][] = [
    ["maxPairs", 100_000],
    ["maxBytesPerSecond", 1e12],
    ["controlPort", 65535],
  ];
  if (raw.priority !== undefined) {
    const v = raw.priority;
    if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 1000) {
      o.priority = v;
    } else {
      problems.push({
        path: "priority",
        message: "must be a whole number from 0 to 1000",
      });
    }
  }
  for (const [key, max] of ints) {
    if (raw[key] === undefined) continue;
    const v = positiveInt(raw[key], max);
    if (v === undefined) {
      problems.push({
        path: key,
        message: `must be a whole number from 1 to ${max}`,
      });
    } else (o as unknown as Record<string, number>)[key] = v;
  }
  const durations: [string, keyof PathTimers][] = [
    ["after", "thresholdMs"],
    ["probeInterval", "probeIntervalMs"],
  ];
  for (const [key, timer] of durations) {
    const v = raw[key];
    if (v === undefined) continue;
    try {
      if (typeof v !== "string" && typeof v !== "number") {
        throw new SyntaxError("must be a duration such as 8s");
      }
      const ms = parseDuration(v);
      if (ms <= 0) throw new RangeError("must be longer than 0s");
      o.timers[timer] = ms;
    } catch (e) {
      problems.push({ path: key, message: (e as Error).message });
    }
  }
  if (o.ports[0] <= o.controlPort && o.controlPort <= o.ports[1]) {
    problems.push({
      path: "controlPort",
      message: `must lie outside the leg ports ${o.ports[0]}-${o.ports[1]}`,
    });
  }
  return problems.length ? { ok: false, problems } : { ok: true, options: o };
}
