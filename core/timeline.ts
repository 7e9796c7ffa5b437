/**
 * The agent's own timeline: when each step from process start to a full
 * mesh happened, on the monotonic clock (ms since the process's time
 * origin), so that the slowest step of a start or a join is visible.
 * Each event is recorded once, the first time it happens.
 *
 * @module
 */
import type { PeerStatusSpec } from "./resources/specs.ts";

/** Steps of the node itself, in the order they normally happen. */
export const NODE_EVENTS = [
  "configReady",
  "identityReady",
  "pluginsStarted",
  "apiReady",
  "discoveryConnected",
  "firstPass",
] as const;

/** A step of the node itself. */
export type NodeEvent = typeof NODE_EVENTS[number];

/** Steps of each peer, in order. */
export const PEER_EVENTS = ["known", "configured", "handshake", "up"] as const;

/** A step of one peer. */
export type PeerEvent = typeof PEER_EVENTS[number];

/** One peer's steps (ms on the monotonic clock). */
export interface PeerTimeline {
  label: string;
  known?: number;
  configured?: number;
  handshake?: number;
  up?: number;
  /** The process's CPU time (ms) at each step, where the platform reports it. */
  cpu?: Partial<Record<PeerEvent, number>>;
}

/** What {@linkcode Timeline.snapshot} returns (plain data, for JSON). */
export interface TimelineSnapshot {
  /** Wall-clock time (ms since the epoch) of the monotonic clock's zero. */
  timeOrigin: number;
  /** The node's steps, ms after the process started. */
  events: Partial<Record<NodeEvent, number>>;
  /** Each peer's steps by public key, ms after the process started. */
  peers: Record<string, PeerTimeline>;
  /**
   * The process's CPU time (ms, every thread) at each node step, where the
   * platform reports it: with `events` it tells working from waiting for a
   * core.
   */
  cpu?: Partial<Record<NodeEvent, number>>;
}

/** Options for {@linkcode Timeline}. */
export interface TimelineOptions {
  /** Monotonic ms since the process started. @default performance.now */
  clock?: () => number;
  /** Wall-clock ms of the clock's zero. @default performance.timeOrigin */
  timeOrigin?: number;
  /**
   * The process's CPU time in ms (`undefined` where it cannot be read).
   * @default none: no CPU is recorded
   */
  cpu?: () => number | undefined;
}

/**
 * Records first occurrences of node and peer steps.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { Timeline } from "./timeline.ts";
 *
 * let t = 5;
 * const timeline = new Timeline({ clock: () => t, timeOrigin: 1000 });
 * timeline.mark("configReady");
 * t = 9;
 * timeline.mark("configReady");
 * deepStrictEqual(timeline.snapshot().events, { configReady: 5 });
 * ```
 */
export class Timeline {
  readonly #clock: () => number;
  readonly #origin: number;
  readonly #events: Partial<Record<NodeEvent, number>> = {};
  readonly #eventsCpu: Partial<Record<NodeEvent, number>> = {};
  readonly #peers = new Map<string, PeerTimeline>();
  readonly #cpu: (() => number | undefined) | undefined;

  constructor(options: TimelineOptions = {}) {
    this.#clock = options.clock ?? (() => performance.now());
    this.#origin = options.timeOrigin ?? performance.timeOrigin;
    this.#cpu = options.cpu;
  }

  #cpuNow(): number | undefined {
    const ms = this.#cpu?.();
    return ms === undefined ? undefined : round(ms);
  }

  /** The monotonic clock's reading now. */
  now(): number {
    return this.#clock();
  }

  /** Records `event` now (or at `at`) unless it was recorded before. */
  mark(event: NodeEvent, at: number = this.#clock()): void {
    if (this.#events[event] !== undefined) return;
    this.#events[event] = round(at);
    const cpu = this.#cpuNow();
    if (cpu !== undefined) this.#eventsCpu[event] = cpu;
  }

  /** Records a peer's step now (or at `at`) unless it was recorded before. */
  peer(
    publicKey: string,
    label: string,
    event: PeerEvent,
    at: number = this.#clock(),
  ): void {
    let p = this.#peers.get(publicKey);
    if (!p) this.#peers.set(publicKey, p = { label });
    p.label = label;
    if (p[event] !== undefined) return;
    p[event] = round(at);
    const cpu = this.#cpuNow();
    if (cpu !== undefined) (p.cpu ??= {})[event] = cpu;
  }

  /** Forgets peers not in `keys` (gone from the mesh), so the timeline stays bounded. */
  retainPeers(keys: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    for (const key of [...this.#peers.keys()]) {
      if (!keys.has(key)) this.#peers.delete(key);
    }
  }

  /** Whether `event` was recorded. */
  has(event: NodeEvent): boolean {
    return this.#events[event] !== undefined;
  }

  /** A copy of everything recorded. */
  snapshot(): TimelineSnapshot {
    return {
      timeOrigin: this.#origin,
      events: { ...this.#events },
      peers: Object.fromEntries(
        [...this.#peers].map((
          [k, v],
        ) => [k, v.cpu ? { ...v, cpu: { ...v.cpu } } : { ...v }]),
      ),
      ...(this.#cpu ? { cpu: { ...this.#eventsCpu } } : {}),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** What {@linkcode recordPeerStatuses} needs besides the statuses. */
export interface PeerStatusClock {
  /** Monotonic ms now. */
  mono: number;
  /** Wall-clock ms now (handshake times are wall-clock). */
  wall: number;
}

/**
 * Records, after a mesh pass, which peers are configured, which had their
 * first handshake (at the device's handshake time, moved onto the
 * monotonic clock) and which are up; peers no longer in the mesh are
 * forgotten.
 */
export function recordPeerStatuses(
  timeline: Timeline,
  statuses: ReadonlyMap<string, PeerStatusSpec>,
  clock: PeerStatusClock,
): void {
  timeline.retainPeers(statuses);
  for (const [key, status] of statuses) {
    timeline.peer(key, status.label, "configured", clock.mono);
    const hs = status.lastHandshakeTime
      ? Date.parse(status.lastHandshakeTime)
      : 0;
    if (hs > 0) {
      // never later than now: the wall clock may be coarser than ours
      const at = Math.min(clock.mono, clock.mono - (clock.wall - hs));
      timeline.peer(key, status.label, "handshake", at);
    }
    if (status.state === "up") {
      timeline.peer(key, status.label, "up", clock.mono);
    }
  }
}
