/**
 * What the agent says when a peer or a discovery connection changes state:
 * pure functions from a change to a log line (level, message, fields), so
 * the wording is tested once and every caller logs the same way.
 *
 * @module
 */
import type { LogFields, Logger } from "./logger.ts";

/** A line to log. */
export interface LogEvent {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  fields: LogFields;
}

/** `395000` → `6m35s`; `42000` → `42s`; `7_500_000` → `2h5m`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""}`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (s < 86400) return `${h}h${m ? `${m}m` : ""}`;
  return `${Math.floor(s / 86400)}d${h % 24 ? `${h % 24}h` : ""}`;
}

/** A peer's state change as the mesh step reports it. */
export interface PeerStateChange {
  publicKey: string;
  label: string;
  from: string;
  to: string;
  endpoint: string;
  endpointChanged: boolean;
  reason?: string;
  /** How long the peer was in `from`, when known. */
  fromDurationMs?: number;
  /** On reaching `up`: how long it was not up; absent the first time. */
  downForMs?: number;
}

/**
 * The line for a peer change: leaving `up` is a warning that says how long
 * the peer was up and why (`peer down`, or `peer no longer up` while a new
 * endpoint is tried); becoming `down` later is a warning with the reason;
 * reaching `up` says how long it was not (absent the first time); an
 * endpoint switch and other moves are info.
 */
export function peerChangeEvent(c: PeerStateChange): LogEvent {
  const fields: LogFields = {
    peer: c.publicKey,
    label: c.label,
    from: c.from,
    to: c.to,
    endpoint: c.endpoint,
    ...(c.reason !== undefined ? { reason: c.reason } : {}),
  };
  const lasted = c.fromDurationMs !== undefined
    ? formatDuration(c.fromDurationMs)
    : undefined;
  const why = c.reason ??
    (c.to === "down"
      ? "no handshake within the down interval"
      : c.endpointChanged
      ? "trying another endpoint: nothing arrived from the peer"
      : "waiting for a handshake");
  if (c.from === "up" && c.to !== "up") {
    return {
      level: "warn",
      msg: c.to === "down" ? "peer down" : "peer no longer up",
      fields: {
        ...fields,
        ...(lasted ? { wasUpFor: lasted } : {}),
        reason: why,
      },
    };
  }
  if (c.to === "down") {
    return {
      level: "warn",
      msg: "peer down",
      fields: { ...fields, reason: why },
    };
  }
  if (c.to === "up") {
    return {
      level: "info",
      msg: "peer up",
      fields: {
        ...fields,
        ...(c.downForMs !== undefined
          ? { wasDownFor: formatDuration(c.downForMs) }
          : {}),
      },
    };
  }
  if (c.endpointChanged) {
    return { level: "info", msg: "peer endpoint selected", fields };
  }
  return { level: "info", msg: "peer state changed", fields };
}

/** A discovery connection's health at one moment. */
export interface DiscoveryObservation {
  name: string;
  state: "connected" | "connecting" | "cached" | "static";
  detail: string;
}

/** What {@linkcode trackDiscovery} remembers per connection. */
export interface TrackedDiscovery extends DiscoveryObservation {
  /** ms since the epoch the connection entered `state`. */
  since: number;
  /** Whether it was ever connected (the first connection is not a regain). */
  everConnected: boolean;
}

/**
 * Folds a discovery health observation into the tracked state: each
 * connection keeps the time it entered its state, and a change yields a
 * line — losing a live connection is a warning with how long it was up and
 * the error; regaining it says how long it was away.
 */
export function trackDiscovery(
  previous: ReadonlyMap<string, TrackedDiscovery>,
  observed: readonly DiscoveryObservation[],
  now: number,
): { tracked: Map<string, TrackedDiscovery>; events: LogEvent[] } {
  const tracked = new Map<string, TrackedDiscovery>();
  const events: LogEvent[] = [];
  for (const o of observed) {
    const prev = previous.get(o.name);
    const everConnected = (prev?.everConnected ?? false) ||
      o.state === "connected";
    if (prev && prev.state === o.state) {
      tracked.set(o.name, { ...o, since: prev.since, everConnected });
      continue;
    }
    tracked.set(o.name, { ...o, since: now, everConnected });
    if (!prev) continue; // the first look is no transition
    const lasted = formatDuration(now - prev.since);
    const fields = { plugin: o.name, from: prev.state, to: o.state };
    if (prev.state === "connected") {
      events.push({
        level: "warn",
        msg: "discovery connection lost",
        fields: { ...fields, wasUpFor: lasted, error: o.detail },
      });
    } else if (o.state === "connected" && !prev.everConnected) {
      events.push({
        level: "info",
        msg: "discovery connected",
        fields: { ...fields, after: lasted, detail: o.detail },
      });
    } else if (o.state === "connected") {
      events.push({
        level: "info",
        msg: "discovery connection regained",
        fields: { ...fields, wasDownFor: lasted, detail: o.detail },
      });
    } else {
      events.push({
        level: "info",
        msg: "discovery connection state changed",
        fields: { ...fields, detail: o.detail },
      });
    }
  }
  return { tracked, events };
}

/** Writes a {@linkcode LogEvent} to a logger. */
export function logEvent(log: Logger, e: LogEvent): void {
  log[e.level](e.msg, e.fields);
}
