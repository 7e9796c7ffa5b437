/**
 * Breaks crossed first handshakes. Two peers that configure each other at
 * the same moment both initiate; each answers the other's initiation and
 * then drops the answer to its own (its handshake state was replaced), so
 * both wait WireGuard's 5 s rekey timeout. The symptom is bytes received
 * from the peer and no handshake. Only the side whose public key sorts
 * higher acts (so the two never cross again): once the symptom has lasted
 * `afterMs`, it re-adds the peer, which initiates at once, and the other
 * side, holding no initiation of its own any more, answers. Pure; time is
 * an input.
 *
 * @module
 */
import type { DevicePeer } from "./dataplane.ts";

/** Timing of {@linkcode crossedHandshakes}. */
export interface HandshakeRaceTimers {
  /** How long the symptom must last before acting. @default 150 */
  afterMs: number;
  /** Least time between two restarts of one peer. @default 1000 */
  everyMs: number;
}

/** The defaults. */
export const HANDSHAKE_RACE: HandshakeRaceTimers = {
  afterMs: 150,
  everyMs: 1000,
};

/** What is remembered between passes, by peer public key. */
export interface HandshakeRaceState {
  /** Since when a peer shows the symptom (ms). */
  since: Map<string, number>;
  /** When a peer was last restarted (ms). */
  restarted: Map<string, number>;
}

/** An empty state. */
export function newHandshakeRaceState(): HandshakeRaceState {
  return { since: new Map(), restarted: new Map() };
}

/**
 * The peers to re-add now; updates `state` in place.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import {
 *   crossedHandshakes,
 *   newHandshakeRaceState,
 * } from "./handshake_race.ts";
 *
 * const peer = {
 *   publicKey: "A", endpoint: "192.0.2.1:51820", lastHandshakeTime: 0,
 *   receiveBytes: 240, transmitBytes: 240, allowedIPs: [],
 *   persistentKeepaliveInterval: 25, hasPresharedKey: true,
 * };
 * const state = newHandshakeRaceState();
 * deepStrictEqual(crossedHandshakes("B", [peer], 0, state), []);
 * deepStrictEqual(crossedHandshakes("B", [peer], 200, state), ["A"]);
 * ```
 */
export function crossedHandshakes(
  localPublicKey: string,
  peers: readonly DevicePeer[],
  now: number,
  state: HandshakeRaceState,
  timers: HandshakeRaceTimers = HANDSHAKE_RACE,
): string[] {
  const restart: string[] = [];
  const seen = new Set<string>();
  for (const p of peers) {
    seen.add(p.publicKey);
    const stuck = p.publicKey < localPublicKey &&
      p.lastHandshakeTime === 0 && p.receiveBytes > 0;
    if (!stuck) {
      state.since.delete(p.publicKey);
      continue;
    }
    const since = state.since.get(p.publicKey) ?? now;
    state.since.set(p.publicKey, since);
    const last = state.restarted.get(p.publicKey);
    if (
      now - since >= timers.afterMs &&
      (last === undefined || now - last >= timers.everyMs)
    ) {
      restart.push(p.publicKey);
      state.restarted.set(p.publicKey, now);
      state.since.delete(p.publicKey);
    }
  }
  for (const key of [...state.since.keys(), ...state.restarted.keys()]) {
    if (!seen.has(key)) {
      state.since.delete(key);
      state.restarted.delete(key);
    }
  }
  return restart;
}
