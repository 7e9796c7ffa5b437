/**
 * Faster endpoint search and honest state, as pure functions of time.
 *
 * KubeSpan gives each endpoint 15 s and re-evaluates on a 30 s tick, so a
 * peer whose only working endpoint is the N-th is found after about N × 15 s
 * (or N × 30 s). Here, while a peer is not up, its candidates are tried in
 * turn on a fixed schedule from the moment its search began: candidate
 * `floor(elapsed / interval) mod N`. Once a handshake completes the peer is
 * up and keeps its endpoint (KubeSpan's semantics from then on). WireGuard
 * sends at most one handshake initiation per 5 s per peer, so a switch must
 * restart the peer's handshake for the new candidate to be tried at once
 * (see {@linkcode SearchTimers.switchIntervalMs}).
 *
 * Both sides of a pair search on the same schedule when they announce their
 * searches (see {@linkcode alignedSearch}): the later start wins.
 *
 * A peer that never answered is `down`, with a reason, once every candidate
 * was tried and {@linkcode SearchTimers.downAfterMs} has passed since the
 * search began; before that it is KubeSpan's `unknown`. A down peer is still
 * searched, at KubeSpan's pace (15 s a candidate).
 *
 * @module
 */
import type { PeerVerdict } from "../../core/plugins/types.ts";
import type { PeerState } from "../../core/resources/specs.ts";

/** Timers of the search, and whether it is coordinated with the peer's. */
export interface SearchTimers {
  /**
   * Time each candidate gets before the next one is tried. A handshake
   * round trip must fit in it. @default 2_500
   */
  switchIntervalMs: number;
  /**
   * A peer without a handshake is `down` after this long since its search
   * began (and not before every candidate was tried). @default 30_000
   */
  downAfterMs: number;
  /**
   * Once the peer is down, each candidate gets this long (KubeSpan's
   * endpoint connection timeout), so a peer without a path costs little
   * traffic and few log lines. @default 15_000
   */
  downSwitchIntervalMs: number;
  /**
   * An `up` peer from which nothing was received for this long has lost its
   * path (a changed NAT mapping or WAN address): every peer sends at least
   * a keepalive each 25 s, so this is more than two missed keepalives. It is
   * searched again instead of waiting for KubeSpan's 275 s. @default 60_000
   */
  silentAfterMs: number;
  /**
   * Coordinated simultaneous open: announce this node's searches through
   * discovery and align a search to the peer's announced one (see
   * {@linkcode alignedSearch}). @default true
   */
  coordinate: boolean;
}

/**
 * The defaults: 2.5 s per candidate, down after 30 s, then 15 s per
 * candidate; an up peer silent for 60 s is searched again; searches are
 * coordinated with the peer's.
 */
export const SEARCH_TIMERS: SearchTimers = {
  switchIntervalMs: 2_500,
  downAfterMs: 30_000,
  downSwitchIntervalMs: 15_000,
  silentAfterMs: 60_000,
  coordinate: true,
};

/** When a peer's receive counter last grew. */
export interface ReceiveProgress {
  bytes: number;
  /** ms since the epoch. */
  grewAt: number;
}

/**
 * Follows a peer's receive counter: growth (or a first sight) moves
 * `grewAt` to `now`, an equal counter keeps it. A smaller counter means the
 * peer was re-added (which resets it to 0): anything above 0 then arrived
 * on the new session and counts as growth; 0 does not.
 */
export function receiveProgress(
  previous: ReceiveProgress | undefined,
  bytes: number,
  now: number,
): ReceiveProgress {
  const grew = !previous || bytes > previous.bytes ||
    (bytes < previous.bytes && bytes > 0);
  return { bytes, grewAt: grew ? now : previous.grewAt };
}

/**
 * Whether the search must hold its current endpoint: the peer sent us
 * something within the last switch interval, so it is reaching us (perhaps
 * from a NAT mapping we could not guess, which WireGuard roams to). A
 * switch would re-add the peer and throw that handshake away.
 */
export function holdsSwitch(
  progress: ReceiveProgress,
  now: number,
  timers: SearchTimers = SEARCH_TIMERS,
): boolean {
  return progress.bytes > 0 && now - progress.grewAt < timers.switchIntervalMs;
}

/**
 * The state the search goes by: KubeSpan's, except that an `up` peer counts
 * as not up when it was silent for {@linkcode SearchTimers.silentAfterMs},
 * or when it announces that it searches this node since `peerSince` and
 * nothing arrived from it since then (it lost the session, e.g. rebooted).
 */
export function searchedState(
  state: PeerState,
  progress: ReceiveProgress,
  now: number,
  timers: SearchTimers = SEARCH_TIMERS,
  peerSince?: number,
): PeerState {
  if (state !== "up") return state;
  if (now - progress.grewAt >= timers.silentAfterMs) return "unknown";
  if (peerSince !== undefined && progress.grewAt < peerSince) return "unknown";
  return state;
}

/** One peer's search: when it began and over which candidates. */
export interface SearchState {
  /** ms since the epoch. */
  startedAt: number;
  /** The candidates in try order, when the search began. */
  endpoints: readonly string[];
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The search a peer is in at `now`: none while it is `up`; otherwise the
 * previous one, or a new one starting now when there was none or the
 * candidates changed.
 */
export function searchState(
  previous: SearchState | undefined,
  state: PeerState,
  endpoints: readonly string[],
  now: number,
): SearchState | undefined {
  if (state === "up") return undefined;
  if (previous && sameList(previous.endpoints, endpoints)) return previous;
  return { startedAt: now, endpoints: [...endpoints] };
}

/**
 * Coordinated simultaneous open: the peer announces (through discovery)
 * that it searches this node since `peerSince`. When that is later than
 * this search began, this search restarts at that instant over the same
 * candidates, so both sides' fast slots start together: in slot k each side
 * tries its k-th candidate of the other (with both lists in locality
 * order, public ones first, both try each other's public endpoint in the
 * same 2.5 s), and a side that was already `down` and slow searches fast
 * again. An earlier `peerSince` changes nothing (the peer aligns to this
 * side instead), so both converge on the later start; a time in the future
 * (clock skew) counts as `now`.
 */
export function alignedSearch(
  search: SearchState,
  peerSince: number | undefined,
  now: number,
): SearchState {
  if (peerSince === undefined) return search;
  const since = Math.min(peerSince, now);
  return since > search.startedAt ? { ...search, startedAt: since } : search;
}

/**
 * The slot of the schedule at `elapsed` ms into the search, and when the
 * next slot begins (ms into the search): fast slots until the peer is
 * down, slow ones after.
 */
function slotAt(
  search: SearchState,
  elapsed: number,
  timers: SearchTimers,
): { slot: number; nextAt: number } {
  const fast = timers.switchIntervalMs;
  const down = downAfter(search, timers);
  if (elapsed < down) {
    const slot = Math.floor(elapsed / fast);
    return { slot, nextAt: Math.min((slot + 1) * fast, down) };
  }
  const slow = timers.downSwitchIntervalMs;
  const late = Math.floor((elapsed - down) / slow);
  return {
    slot: Math.ceil(down / fast) + late,
    nextAt: down + (late + 1) * slow,
  };
}

/** The candidate the schedule says to try at `now` (undefined without candidates). */
export function scheduledEndpoint(
  search: SearchState,
  now: number,
  timers: SearchTimers = SEARCH_TIMERS,
): string | undefined {
  const n = search.endpoints.length;
  if (n === 0) return undefined;
  const { slot } = slotAt(search, Math.max(0, now - search.startedAt), timers);
  return search.endpoints[slot % n];
}

/** When the schedule next changes its answer (the next slot or the verdict). */
export function nextWake(
  search: SearchState,
  now: number,
  timers: SearchTimers = SEARCH_TIMERS,
): number {
  const elapsed = Math.max(0, now - search.startedAt);
  return search.startedAt + slotAt(search, elapsed, timers).nextAt;
}

function downAfter(search: SearchState, timers: SearchTimers): number {
  return Math.max(
    timers.downAfterMs,
    search.endpoints.length * timers.switchIntervalMs,
  );
}

/**
 * The state a searching peer is in at `now`, given the state machine's
 * `state`, or `undefined` to keep it: `down` with a reason once every
 * candidate was tried and the down time has passed since the search began;
 * before that the state machine's state (`unknown` while candidates change),
 * with the reason added when it already says `down`.
 */
export function searchVerdict(
  search: SearchState | undefined,
  state: PeerState,
  now: number,
  timers: SearchTimers = SEARCH_TIMERS,
): PeerVerdict | undefined {
  if (!search) return undefined;
  const elapsed = Math.max(0, now - search.startedAt);
  if (elapsed < downAfter(search, timers) && state !== "down") {
    return undefined;
  }
  // The start time, not an age: the status resource changes only when the
  // verdict does, not on every pass (watchers and versions stay quiet).
  const since = new Date(search.startedAt).toISOString().replace(
    /\.\d{3}Z$/,
    "Z",
  );
  const n = search.endpoints.length;
  return {
    state: "down",
    reason: n === 0
      ? `no endpoints to try since ${since}`
      : `no handshake on any of ${n} endpoint${
        n === 1 ? "" : "s"
      } since ${since}`,
  };
}
