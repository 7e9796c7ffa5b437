/**
 * KubeSpan's peer link state as a pure function of times.
 *
 * @module
 */
import type { PeerState } from "../resources/specs.ts";

/** Timers of the state machine; KubeSpan's values by default. */
export interface PeerTimers {
  /** A new endpoint gets this long to complete a handshake. @default 15_000 */
  endpointConnectionTimeoutMs: number;
  /** An established peer without a handshake for this long is down. @default 275_000 */
  peerDownIntervalMs: number;
}

/** KubeSpan's constants: 15 s and 180 + 5 + 90 = 275 s. */
export const KUBESPAN_TIMERS: PeerTimers = {
  endpointConnectionTimeoutMs: 15_000,
  peerDownIntervalMs: 275_000,
};

/** What the state depends on; times in ms since the epoch, 0 = never. */
export interface PeerStateInput {
  lastHandshakeTime: number;
  lastEndpointChange: number;
  /** Endpoint last chosen; empty when none ever was. */
  lastUsedEndpoint: string;
}

/**
 * The link state at `now`. After the down interval since the last endpoint
 * change, the peer is up while handshakes are recent; within the connection
 * timeout it is up only if a handshake followed the change, otherwise
 * unknown; in between it is up if a handshake followed the change, else
 * down. A peer never given an endpoint is unknown rather than down.
 */
export function peerState(
  input: PeerStateInput,
  now: number,
  timers: PeerTimers = KUBESPAN_TIMERS,
): PeerState {
  const sinceHandshake = now - input.lastHandshakeTime;
  const sinceChange = now - input.lastEndpointChange;
  const handshakeAfterChange = input.lastHandshakeTime > 0 &&
    input.lastHandshakeTime > input.lastEndpointChange;
  let state: PeerState;
  if (sinceChange > timers.peerDownIntervalMs) {
    state =
      input.lastHandshakeTime > 0 && sinceHandshake < timers.peerDownIntervalMs
        ? "up"
        : "down";
  } else if (sinceChange < timers.endpointConnectionTimeoutMs) {
    state = handshakeAfterChange ? "up" : "unknown";
  } else {
    state = handshakeAfterChange ? "up" : "down";
  }
  if (state === "down" && input.lastUsedEndpoint === "") return "unknown";
  return state;
}
