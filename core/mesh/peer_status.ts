/**
 * One reconcile step of the peer statuses: fold in the device's stats, apply
 * the state machine, let peer selection pick endpoints, and say what each
 * WireGuard peer must be configured with. Pure; time is an input.
 *
 * @module
 */
import type { PathDecision, PeerVerdict } from "../plugins/types.ts";
import type {
  PeerSpecSpec,
  PeerState,
  PeerStatusSpec,
} from "../resources/specs.ts";
import { KUBESPAN_TIMERS, peerState, type PeerTimers } from "./peer_state.ts";

/** What the WireGuard device reports for a peer. */
export interface PeerStats {
  /** `ip:port`, empty when unknown. */
  endpoint: string;
  /** ms since the epoch, 0 = never. */
  lastHandshakeTime: number;
  receiveBytes: number;
  transmitBytes: number;
}

/** How a peer must be configured this pass. */
export interface DesiredPeer {
  publicKey: string;
  allowedIPs: string[];
  /** Endpoint to set; absent = leave what the device has (a roamed endpoint stays). */
  endpoint?: string;
  /**
   * Remove the device's peer and add it again, so that a handshake to the
   * new endpoint starts at once (WireGuard otherwise sends at most one
   * initiation per 5 s, to whichever endpoint is current then).
   */
  restartHandshake?: boolean;
}

/** A state or endpoint change, for logging once per change. */
export interface PeerChange {
  publicKey: string;
  label: string;
  from: PeerState;
  to: PeerState;
  endpoint: string;
  /** True when peer selection switched the endpoint this pass. */
  endpointChanged: boolean;
  /** Why, when a peer selection plugin judged the state. */
  reason?: string;
  /** ms the peer spent in `from` before this change; absent when not known. */
  fromDurationMs?: number;
  /** On reaching `up`: ms since the peer stopped being up; absent the first time. */
  downForMs?: number;
}

/** Inputs of {@linkcode stepPeerStatuses}. */
export interface PeerStatusStepInput {
  specs: ReadonlyMap<string, PeerSpecSpec>;
  previous: ReadonlyMap<string, PeerStatusSpec>;
  stats: ReadonlyMap<string, PeerStats>;
  now: number;
  timers?: PeerTimers;
  /** Peer selection; `undefined` keeps the endpoint. */
  nextEndpoint: (
    status: PeerStatusSpec,
    spec: PeerSpecSpec,
  ) => string | undefined;
  /**
   * Whether a switch {@linkcode nextEndpoint} asked for restarts the
   * handshake. @default never (KubeSpan)
   */
  restartHandshake?: (status: PeerStatusSpec, spec: PeerSpecSpec) => boolean;
  /**
   * Overrides the state machine's state after selection, with a reason.
   * @default none (KubeSpan's state, no reason)
   */
  judge?: (
    status: PeerStatusSpec,
    spec: PeerSpecSpec,
  ) => PeerVerdict | undefined;
  /**
   * The peer's path, asked before peer selection; a decision with an
   * endpoint (a relay leg) replaces selection and judgement for the peer.
   * @default none (direct, peer selection decides)
   */
  path?: (
    publicKey: string,
    status: PeerStatusSpec,
    spec: PeerSpecSpec,
  ) => PathDecision | undefined;
}

/** Output of {@linkcode stepPeerStatuses}. */
export interface PeerStatusStepResult {
  statuses: Map<string, PeerStatusSpec>;
  peers: DesiredPeer[];
  changes: PeerChange[];
}

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : "");
const ms = (text: string) => (text ? Date.parse(text) : 0);

/** Runs one step for every peer spec; statuses of removed specs are dropped. */
export function stepPeerStatuses(
  input: PeerStatusStepInput,
): PeerStatusStepResult {
  const timers = input.timers ?? KUBESPAN_TIMERS;
  const statuses = new Map<string, PeerStatusSpec>();
  const peers: DesiredPeer[] = [];
  const changes: PeerChange[] = [];
  const keys = [...input.specs.keys()].sort();
  for (const publicKey of keys) {
    const spec = input.specs.get(publicKey)!;
    const prev = input.previous.get(publicKey);
    const stats = input.stats.get(publicKey);
    const status: PeerStatusSpec = {
      endpoint: stats?.endpoint ?? prev?.endpoint ?? "",
      label: spec.label,
      state: prev?.state ?? "unknown",
      receiveBytes: stats?.receiveBytes ?? 0,
      transmitBytes: stats?.transmitBytes ?? 0,
      lastHandshakeTime: iso(stats?.lastHandshakeTime ?? 0),
      lastUsedEndpoint: prev?.lastUsedEndpoint ?? "",
      lastEndpointChange: prev?.lastEndpointChange ?? "",
    };
    if (
      !prev && stats && stats.lastHandshakeTime > 0 && stats.endpoint !== ""
    ) {
      // The device already has a session (e.g. the agent restarted while the
      // link stayed up): adopt it instead of re-selecting and waiting for a
      // fresh handshake, which could take a full rekey interval.
      status.lastUsedEndpoint = stats.endpoint;
    }
    const before = prev?.state ?? "unknown";
    status.state = peerState(
      {
        lastHandshakeTime: stats?.lastHandshakeTime ?? 0,
        lastEndpointChange: ms(status.lastEndpointChange),
        lastUsedEndpoint: status.lastUsedEndpoint,
      },
      input.now,
      timers,
    );
    const desired: DesiredPeer = { publicKey, allowedIPs: spec.allowedIPs };
    const decision = input.path?.(publicKey, status, spec);
    if (decision) status.path = decision.path;
    const override = decision?.endpoint;
    const next = override !== undefined
      ? (override !== status.lastUsedEndpoint ? override : undefined)
      : input.nextEndpoint(status, spec);
    let endpointChanged = false;
    if (next !== undefined) {
      status.endpoint = next;
      status.lastUsedEndpoint = next;
      status.lastEndpointChange = iso(input.now);
      status.state = "unknown";
      desired.endpoint = next;
      endpointChanged = true;
      if (
        override !== undefined
          ? decision?.restartHandshake === true
          : input.restartHandshake?.(status, spec)
      ) {
        desired.restartHandshake = true;
      }
    } else if (
      override !== undefined && decision?.hold === true &&
      status.endpoint !== override
    ) {
      // Held: WireGuard roamed back (e.g. to a relay) within the probe.
      desired.endpoint = override;
    } else if (
      status.lastUsedEndpoint !== "" &&
      (status.endpoint === "" || status.endpoint === status.lastUsedEndpoint)
    ) {
      // Re-establish what we chose; a roamed (NAT) endpoint is left alone.
      desired.endpoint = status.lastUsedEndpoint;
    }
    const verdict = override !== undefined
      ? decision?.verdict
      : input.judge?.(status, spec);
    if (verdict) {
      status.state = verdict.state;
      status.reason = verdict.reason;
    }
    const prevSince = ms(prev?.stateSince ?? "");
    status.stateSince = before === status.state && prevSince > 0
      ? prev!.stateSince!
      : iso(input.now);
    const downSince = status.state === "up"
      ? undefined
      : before === "up"
      ? iso(input.now)
      : prev?.downSince;
    if (downSince) status.downSince = downSince;
    if (before !== status.state || endpointChanged) {
      changes.push({
        publicKey,
        label: spec.label,
        from: before,
        to: status.state,
        endpoint: status.endpoint,
        endpointChanged,
        ...(status.reason !== undefined ? { reason: status.reason } : {}),
        ...(before !== status.state && prevSince > 0
          ? { fromDurationMs: input.now - prevSince }
          : {}),
        ...(status.state === "up" && before !== "up" && prev?.downSince
          ? { downForMs: input.now - ms(prev.downSince) }
          : {}),
      });
    }
    statuses.set(publicKey, status);
    peers.push(desired);
  }
  return { statuses, peers, changes };
}
