/**
 * Shortened state-machine timers for tests, read from
 * `EDGESPAN_TEST_TIMERS`; production always uses KubeSpan's.
 *
 * @module
 */
import { parseDuration } from "../config/duration.ts";
import { KUBESPAN_TIMERS, type PeerTimers } from "./peer_state.ts";

/**
 * Reads shortened state-machine timers for tests from
 * `EDGESPAN_TEST_TIMERS="connect=1s,down=6s"`. Not a user setting: the
 * KubeSpan values are what peers expect.
 *
 * @throws {SyntaxError} for a malformed value
 */
export function parseTestTimers(
  text: string | undefined,
): PeerTimers | undefined {
  if (!text) return undefined;
  const timers = { ...KUBESPAN_TIMERS };
  for (const part of text.split(",")) {
    const [key, value] = part.split("=");
    if (!value) {
      throw new SyntaxError(
        `Cannot parse EDGESPAN_TEST_TIMERS entry "${part}": write key=duration`,
      );
    }
    if (key === "connect") {
      timers.endpointConnectionTimeoutMs = parseDuration(value);
    } else if (key === "down") timers.peerDownIntervalMs = parseDuration(value);
    else {throw new SyntaxError(
        `Cannot parse EDGESPAN_TEST_TIMERS entry "${part}": keys are connect and down`,
      );}
  }
  return timers;
}
