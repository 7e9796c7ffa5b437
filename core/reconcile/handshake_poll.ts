/**
 * When to look at the WireGuard device again while peers wait for their
 * first handshake. Neither the kernel nor wireguard-go reports a handshake
 * as an event, so without this a peer whose handshake lands is seen `up`
 * only at the next tick (30 s by default). The delay starts short and
 * doubles while nothing changes; any progress (a peer up, a peer added, an
 * endpoint switched) starts it short again; after `giveUpMs` without
 * progress the tick takes over. Pure; time is an input.
 *
 * @module
 */
import type { PeerStatusSpec } from "../resources/specs.ts";

/** Timing of {@linkcode nextHandshakePoll}. */
export interface HandshakePollTimers {
  /** First delay after a change. @default 20 */
  firstMs: number;
  /** Longest delay. @default 250 */
  maxMs: number;
  /** Stop polling after this long without progress. @default 15000 */
  giveUpMs: number;
}

/** The defaults. */
export const HANDSHAKE_POLL: HandshakePollTimers = {
  firstMs: 20,
  maxMs: 250,
  giveUpMs: 15_000,
};

/** What the poll remembers between passes. */
export interface HandshakePollState {
  /** Peers' states and endpoints at the latest progress. */
  signature: string;
  /** When the signature last changed (ms). */
  since: number;
  /** The delay handed out last. */
  delayMs: number;
}

/** The answer of {@linkcode nextHandshakePoll}. */
export interface HandshakePoll {
  state: HandshakePollState;
  /** Run a pass after this many ms; absent = leave it to the tick. */
  delayMs?: number;
}

/**
 * The delay before the next look, after a pass produced `statuses`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { nextHandshakePoll } from "./handshake_poll.ts";
 *
 * const waiting = new Map([["K", {
 *   endpoint: "192.0.2.1:51820", label: "b", state: "unknown" as const,
 *   receiveBytes: 0, transmitBytes: 0, lastHandshakeTime: "",
 *   lastUsedEndpoint: "192.0.2.1:51820", lastEndpointChange: "",
 * }]]);
 * const first = nextHandshakePoll(undefined, waiting, 0);
 * strictEqual(first.delayMs, 20);
 * strictEqual(nextHandshakePoll(first.state, waiting, 20).delayMs, 40);
 * ```
 */
export function nextHandshakePoll(
  previous: HandshakePollState | undefined,
  statuses: ReadonlyMap<string, PeerStatusSpec>,
  now: number,
  timers: HandshakePollTimers = HANDSHAKE_POLL,
): HandshakePoll {
  const parts: string[] = [];
  let waiting = 0;
  for (const [key, s] of [...statuses].sort(([a], [b]) => a < b ? -1 : 1)) {
    parts.push(`${key}=${s.state}@${s.lastUsedEndpoint}`);
    if (s.state !== "up" && s.lastUsedEndpoint !== "") waiting++;
  }
  const signature = parts.join(",");
  if (!previous || previous.signature !== signature) {
    const state = { signature, since: now, delayMs: timers.firstMs };
    return waiting ? { state, delayMs: timers.firstMs } : { state };
  }
  if (waiting === 0 || now - previous.since >= timers.giveUpMs) {
    return { state: previous };
  }
  const delayMs = Math.min(previous.delayMs * 2, timers.maxMs);
  return { state: { ...previous, delayMs }, delayMs };
}

/** A device peer as a look reads it: its key and last handshake (ms since the epoch, 0 = never). */
export interface HandshakeReading {
  publicKey: string;
  lastHandshakeTime: number;
}

/**
 * Whether a look at the device found a handshake the last pass has not
 * seen, for a peer that pass did not have `up`: then a pass is worth
 * running now; otherwise the look was enough (and far cheaper than a pass).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { handshakeLanded } from "./handshake_poll.ts";
 *
 * const waiting = new Map([["K", {
 *   endpoint: "192.0.2.1:51820", label: "b", state: "unknown" as const,
 *   receiveBytes: 0, transmitBytes: 0, lastHandshakeTime: "",
 *   lastUsedEndpoint: "192.0.2.1:51820", lastEndpointChange: "",
 * }]]);
 * strictEqual(handshakeLanded(waiting, [{ publicKey: "K", lastHandshakeTime: 0 }]), false);
 * strictEqual(handshakeLanded(waiting, [{ publicKey: "K", lastHandshakeTime: 5 }]), true);
 * ```
 */
export function handshakeLanded(
  statuses: ReadonlyMap<string, PeerStatusSpec>,
  device: readonly HandshakeReading[],
): boolean {
  for (const p of device) {
    const s = statuses.get(p.publicKey);
    if (!s || s.state === "up" || p.lastHandshakeTime <= 0) continue;
    const seen = s.lastHandshakeTime ? Date.parse(s.lastHandshakeTime) : 0;
    if (p.lastHandshakeTime > seen) return true;
  }
  return false;
}
