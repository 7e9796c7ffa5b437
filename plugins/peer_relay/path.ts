/**
 * The path of one peer, as a pure state machine over time: direct while
 * the peer is up; relayed once it stayed not-up past a threshold and a
 * relay both ends share gave this end a leg; back to direct as soon as a
 * direct packet authenticates (WireGuard roams to its source) — found by
 * short probes of the direct candidates that keep the session.
 *
 * @module
 */
import type { PathDecision } from "../../core/plugins/types.ts";
import type { PeerState } from "../../core/resources/specs.ts";
import type { RelayChoice } from "./choice.ts";

/** Timers of the path machine. */
export interface PathTimers {
  /** A peer not up this long is relayed (when a relay is shared). @default 8_000 */
  thresholdMs: number;
  /** A relay that passed nothing this long after the switch failed. @default 15_000 */
  connectMs: number;
  /** A relayed pair from which nothing came this long lost its relay. @default 40_000 */
  silentMs: number;
  /** A lost relay is kept this long while another one gives legs. @default 5_000 */
  standbyMs: number;
  /**
   * A direct peer we keep sending to (1 KiB or more) that sent nothing back
   * this long has lost its path, even while the state machine still says
   * up. @default 12_000
   */
  brokenMs: number;
  /**
   * A direct peer that sent nothing this long has lost its path (every peer
   * sends a keepalive each 25 s). @default 30_000
   */
  deadMs: number;
  /**
   * The direct candidates are probed this often while relayed, by both
   * ends in the same slot (from the pair and the wall clock), so neither
   * end's relayed packets pull the other back to the relay meanwhile.
   * @default 30_000
   */
  probeIntervalMs: number;
  /**
   * Each candidate of a probe gets this long for a direct answer; the
   * endpoint is held on it meanwhile. @default 750
   */
  probeStepMs: number;
  /** A probe tries at most this many candidates. @default 2 */
  probeCandidates: number;
}

/** The defaults. */
export const PATH_TIMERS: PathTimers = {
  thresholdMs: 8_000,
  connectMs: 15_000,
  silentMs: 40_000,
  standbyMs: 5_000,
  brokenMs: 12_000,
  deadMs: 30_000,
  probeIntervalMs: 30_000,
  probeStepMs: 750,
  probeCandidates: 2,
};

/** WireGuard drops a session this old (reject-after-time, 180 s). */
export const SESSION_MS = 180_000;

/** The direct candidates being tried while relayed, one after another. */
export interface Probe {
  endpoints: readonly string[];
  /** The candidate tried now. */
  index: number;
  /** When it began (ms). */
  at: number;
  /** Passes seen since it began. */
  passes: number;
}

/** The path state of one peer. */
export type PeerPath =
  | {
    kind: "direct";
    notUpSince?: number;
    /**
     * Back from a relay on the session it had: the direct endpoint is kept
     * until the next handshake confirms it (the state machine wants one
     * after an endpoint change; WireGuard rekeys within 120 s).
     */
    confirm?: { endpoint: string; rx: number; lastRx: number };
    /** The byte counters last seen, and when the received ones last grew. */
    seen?: Seen;
  }
  | {
    kind: "relayed";
    choice: RelayChoice;
    since: number;
    /** The device has shown the leg as the peer's endpoint. */
    sawLeg: boolean;
    /** Bytes received at the last pass, and when they last grew. */
    rx: number;
    lastRx: number;
    /** Something came through the relay since the switch. */
    passed: boolean;
    probeSlot: number;
    /** The relay stopped answering then, while another one is on its way. */
    goneSince?: number;
    /** Candidates probed so far (the next probe starts at `probed mod N`). */
    probed: number;
    /** The slot of the latest probe (or of the switch). */
    lastProbeSlot: number;
    /**
     * Probes in a row that found no direct path: the next one waits
     * 2^misses slots (at most 8), both ends alike.
     */
    misses: number;
    probe?: Probe;
  };

/** A direct peer's byte counters. */
export interface Seen {
  rx: number;
  tx: number;
  /** When `rx` last grew (or was first seen). */
  rxAt: number;
  /** `tx` at that moment. */
  txAtRx: number;
}

/** What one pass knows of the peer. */
export interface PathInput {
  now: number;
  /** The state machine's state this pass. */
  state: PeerState;
  /** The device's endpoint for the peer (roamed). */
  endpoint: string;
  receiveBytes: number;
  /** @default 0 (only silence counts) */
  transmitBytes?: number;
  /** ms since the epoch, 0 = never. */
  lastHandshake: number;
  /** The peer's direct candidates. */
  candidates: readonly string[];
  /** The relay the pair shares now, with this end's leg. */
  choice: RelayChoice | undefined;
  /** Another relay both ends joined is about to give legs. @default false */
  standby?: boolean;
  /** The pair's offset into the probe schedule (ms), the same at both ends. */
  probeOffset: number;
}

/** The result of one pass. */
export interface PathStep {
  path: PeerPath;
  decision: PathDecision;
  /** The pair needs a relay: keep asking the relays about it. */
  wantRelay: boolean;
  /** This relay failed the pair (skip it for a while). */
  failed?: string;
  /** Send one datagram to the peer over the tunnel (a probe needs traffic). */
  poke?: boolean;
  /** A transition worth a log line. */
  event?: string;
}

const DIRECT: PathDecision = { path: "direct" };

function slotOf(input: PathInput, timers: PathTimers): number {
  return Math.floor((input.now + input.probeOffset) / timers.probeIntervalMs);
}

function enter(
  choice: RelayChoice,
  input: PathInput,
  timers: PathTimers,
  event: string,
): PathStep {
  const session = input.lastHandshake > 0 &&
    input.now - input.lastHandshake < SESSION_MS;
  return {
    path: {
      kind: "relayed",
      choice,
      since: input.now,
      sawLeg: false,
      rx: input.receiveBytes,
      lastRx: input.now,
      passed: false,
      probeSlot: slotOf(input, timers),
      probed: 0,
      lastProbeSlot: slotOf(input, timers),
      misses: 0,
    },
    decision: {
      path: `relay:${choice.label}`,
      endpoint: choice.endpoint,
      // No session to keep: re-add the peer so a handshake starts at once.
      restartHandshake: !session,
      verdict: {
        state: "unknown",
        reason: `connecting through relay ${choice.label}`,
      },
    },
    wantRelay: true,
    event,
  };
}

/**
 * From one relay to another the handshake starts afresh: the lost relay
 * left both ends' sessions waiting for answers that never came, and
 * WireGuard would otherwise retry only after its 15 s timeout.
 */
function restarted(step: PathStep): PathStep {
  return { ...step, decision: { ...step.decision, restartHandshake: true } };
}

function direct(
  notUpSince: number | undefined,
  wantRelay: boolean,
  extra: Partial<PathStep> = {},
): PathStep {
  return {
    path: notUpSince === undefined
      ? { kind: "direct" }
      : { kind: "direct", notUpSince },
    decision: DIRECT,
    wantRelay,
    ...extra,
  };
}

function confirming(endpoint: string, rx: number, lastRx: number): PathStep {
  return {
    path: { kind: "direct", confirm: { endpoint, rx, lastRx } },
    decision: {
      path: "direct",
      endpoint,
      verdict: { state: "up", reason: "direct again, on the relayed session" },
    },
    wantRelay: false,
  };
}

/** One pass of the path machine for one peer. */
export function stepPath(
  prev: PeerPath | undefined,
  input: PathInput,
  timers: PathTimers = PATH_TIMERS,
): PathStep {
  const { now } = input;
  if (prev?.kind === "direct" && prev.confirm) {
    const c = prev.confirm;
    if (input.state === "up") return direct(undefined, false);
    const lastRx = input.receiveBytes > c.rx ? now : c.lastRx;
    if (now - lastRx >= timers.silentMs) {
      return direct(now - timers.thresholdMs, true, {
        event: `direct path at ${c.endpoint} went silent`,
      });
    }
    return confirming(c.endpoint, input.receiveBytes, lastRx);
  }
  if (!prev || prev.kind === "direct") {
    const tx = input.transmitBytes ?? 0;
    const old = prev?.seen;
    const seen: Seen = !old || input.receiveBytes > old.rx ||
        input.receiveBytes < old.rx
      ? { rx: input.receiveBytes, tx, rxAt: now, txAtRx: tx }
      : { ...old, tx };
    const quiet = now - seen.rxAt;
    // Sending without answer (or no keepalive at all): the path is gone
    // although WireGuard's session, and so the state, still look up.
    const broken = old !== undefined && input.lastHandshake > 0 &&
      (quiet >= timers.deadMs ||
        (quiet >= timers.brokenMs && seen.tx - seen.txAtRx >= 1024));
    if (input.state === "up" && !broken) {
      return { ...direct(undefined, false), path: { kind: "direct", seen } };
    }
    const since = prev?.notUpSince ?? (broken ? seen.rxAt : now);
    const want = now - since >= timers.thresholdMs;
    if (want && input.choice) {
      const step = enter(input.choice, input, timers, "relayed");
      return broken
        ? {
          ...restarted(step),
          event: `direct path silent for ${Math.round(quiet / 1000)}s; relayed`,
        }
        : step;
    }
    return {
      ...direct(since, want),
      path: { kind: "direct", notUpSince: since, seen },
    };
  }
  const leg = prev.choice.endpoint;
  const grew = input.receiveBytes > prev.rx;
  const lastRx = grew ? now : prev.lastRx;
  const passed = prev.passed || (grew && input.endpoint === leg);
  const elsewhere = input.endpoint !== "" && input.endpoint !== leg;
  // A direct packet authenticated: WireGuard roamed off the leg.
  // The stats are read after the last pass set its endpoint: any other
  // address than the one set is the source of an authenticated packet.
  const lastSet = prev.probe ? prev.probe.endpoints[prev.probe.index] : leg;
  const foreign = elsewhere && input.endpoint !== lastSet;
  const roamed = foreign ||
    (prev.probe
      ? prev.probe.passes >= 1 && elsewhere && grew
      : prev.sawLeg && elsewhere && grew);
  if (roamed) {
    return {
      ...confirming(input.endpoint, input.receiveBytes, now),
      event: `direct again at ${input.endpoint}`,
    };
  }
  // Off the relay: another relay with legs takes over at once; without
  // one, the peer is re-added on a direct candidate, so the state machine
  // (which still sees the relayed session) and the search start afresh.
  const leave = (reason: string, failed?: string): PathStep => {
    const other = input.choice;
    if (other && other.relay !== prev.choice.relay) {
      return {
        ...restarted(
          enter(other, input, timers, `${reason}; relay now ${other.label}`),
        ),
        ...(failed ? { failed } : {}),
      };
    }
    const fallback = input.candidates.find((c) => c !== leg);
    return {
      path: { kind: "direct", notUpSince: now - timers.thresholdMs },
      decision: fallback
        ? { path: "direct", endpoint: fallback, restartHandshake: true }
        : DIRECT,
      wantRelay: true,
      ...(failed ? { failed } : {}),
      event: reason,
    };
  };
  if (!passed && now - prev.since >= timers.connectMs) {
    return leave(
      `nothing came through relay ${prev.choice.label}`,
      prev.choice.relay,
    );
  }
  if (passed && now - lastRx >= timers.silentMs) {
    return leave(`relay ${prev.choice.label} went silent`, prev.choice.relay);
  }
  const choice = input.choice;
  if (!choice) {
    // Legs on the next relay come within a refresh: keep the session.
    const since = prev.goneSince ?? now;
    if (input.standby && now - since < timers.standbyMs) {
      return {
        path: { ...prev, goneSince: since },
        decision: {
          path: `relay:${prev.choice.label}`,
          endpoint: leg,
          verdict: {
            state: "unknown",
            reason: `relay ${prev.choice.label} lost, moving to another`,
          },
        },
        wantRelay: true,
      };
    }
    return leave(`relay ${prev.choice.label} is gone`);
  }
  if (choice.relay !== prev.choice.relay || choice.endpoint !== leg) {
    return restarted(enter(choice, input, timers, `relay now ${choice.label}`));
  }
  const label = `relay:${choice.label}`;
  const session = input.lastHandshake > 0 &&
    now - input.lastHandshake < SESSION_MS;
  const verdict = passed && session
    ? { state: "up" as const, reason: `relayed through ${choice.label}` }
    : {
      state: "unknown" as const,
      reason: `connecting through relay ${choice.label}`,
    };
  const { goneSince: _gone, ...kept } = prev;
  const next = {
    ...kept,
    sawLeg: prev.sawLeg || input.endpoint === leg,
    rx: input.receiveBytes,
    lastRx,
    passed,
  };
  if (prev.probe) {
    const p = prev.probe;
    const stepOver = p.passes >= 1 && now - p.at >= timers.probeStepMs;
    if (!stepOver) {
      return {
        path: { ...next, probe: { ...p, passes: p.passes + 1 } },
        decision: {
          path: label,
          endpoint: p.endpoints[p.index]!,
          verdict,
          hold: true,
        },
        wantRelay: true,
      };
    }
    if (p.index + 1 < p.endpoints.length) {
      const index = p.index + 1;
      return {
        path: { ...next, probe: { ...p, index, at: now, passes: 0 } },
        decision: {
          path: label,
          endpoint: p.endpoints[index]!,
          verdict,
          hold: true,
        },
        wantRelay: true,
        poke: true,
      };
    }
    const { probe: _, ...rest } = next;
    return {
      path: { ...rest, misses: rest.misses + 1 },
      decision: { path: label, endpoint: leg, verdict },
      wantRelay: true,
    };
  }
  const slot = slotOf(input, timers);
  // Probe only over a working relayed session, and not in its first moments.
  const settled = passed && session &&
    now - prev.since >= timers.probeIntervalMs / 2;
  const candidates = input.candidates.filter((c) => c !== leg);
  const n = candidates.length;
  const due = slot - prev.lastProbeSlot >= Math.min(2 ** prev.misses, 8);
  if (slot !== prev.probeSlot && due && settled && n > 0) {
    const count = Math.min(n, timers.probeCandidates);
    const endpoints = Array.from(
      { length: count },
      (_, i) => candidates[(next.probed + i) % n]!,
    );
    return {
      path: {
        ...next,
        probeSlot: slot,
        probed: next.probed + count,
        lastProbeSlot: slot,
        probe: { endpoints, index: 0, at: now, passes: 0 },
      },
      decision: { path: label, endpoint: endpoints[0]!, verdict, hold: true },
      wantRelay: true,
      poke: true,
    };
  }
  return {
    path: { ...next, probeSlot: slot },
    decision: { path: label, endpoint: leg, verdict },
    wantRelay: true,
  };
}
