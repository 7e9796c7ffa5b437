/**
 * The connectivity plugins: `lan-preference` orders a peer's endpoint
 * candidates by locality; `endpoint-search` tries them on a fast schedule
 * while the peer is not up and reports a peer that never answered as down,
 * with a reason.
 *
 * @module
 */
import { definePlugin, type PluginContext } from "../../core/plugins/types.ts";
import type {
  AffiliateSpec,
  PeerSearchSpec,
} from "../../core/resources/specs.ts";
import { ResourceType } from "../../core/resources/definitions.ts";
import { orderByLocality } from "./locality.ts";
import {
  alignedSearch,
  holdsSwitch,
  nextWake,
  type ReceiveProgress,
  receiveProgress,
  scheduledEndpoint,
  searchedState,
  type SearchState,
  searchState,
  type SearchTimers,
  searchVerdict,
} from "./search.ts";
import { parseSearchOptions } from "./options.ts";

/** Orders each peer's endpoints: same subnet first, then public, then other private. */
export const lanPreferencePlugin = definePlugin({
  name: "lan-preference",
  hooks: ["endpointOrder"],
  version: "1.0.0",
  description:
    "Tries a peer's endpoints in a subnet of this box first, then public ones, then other private ones",
  defaultEnabled: true,
  create() {
    return {
      endpointOrder: {
        order: (endpoints, context) =>
          orderByLocality(endpoints, context.localPrefixes),
      },
    };
  },
});

/**
 * A switch (which re-adds the peer) waits until the peer's handshake began
 * this long ago (it was added or re-added). Both ends learn of each other
 * from the same discovery update, so the peer's first initiation often
 * arrives just as this side's candidate list grows; re-adding the peer then
 * drops the session the peer believes in, and it stays silent until it
 * searches again (lab scenario 5, cp–w2, failed 1 run in 4 without this).
 * Packets that arrive meanwhile hold the endpoint (see `holdsSwitch`).
 */
export const RESTART_GAP_MS = 500;

/** A search not looked at for this long belongs to a peer that is gone. */
const FORGET_AFTER_MS = 10 * 60_000;

/** At most this many searches are announced (the most recent ones). */
const MAX_ANNOUNCED = 16;

/** A peer as the search knows it from discovery. */
interface PeerEntry {
  nodeId: string;
  /** When the peer announces it searches this node since (ms), if it does. */
  since?: number;
}

/**
 * The peers by mesh address, read from the agent's affiliates once per
 * pass (every call of a pass has the same `now`).
 */
function peerDirectory(ctx: PluginContext) {
  let at = NaN;
  let byAddress = new Map<string, PeerEntry>();
  return (address: string, now: number): PeerEntry | undefined => {
    if (now !== at) {
      at = now;
      byAddress = new Map();
      const self = ctx.identity.nodeId;
      for (
        const { spec: a } of ctx.listResources<AffiliateSpec>(
          ResourceType.affiliates,
        )
      ) {
        if (!a.kubespan?.address || a.nodeId === self) continue;
        const since = a.edgespan?.searching?.find((s) => s.affiliateID === self)
          ?.since;
        byAddress.set(a.kubespan.address, {
          nodeId: a.nodeId,
          ...(since !== undefined ? { since } : {}),
        });
      }
    }
    return byAddress.get(address);
  };
}

/**
 * The per-peer searches of one plugin instance, keyed by the peer's mesh
 * address, and the one timer that wakes the reconcile loop when the
 * schedule moves on (the site's tick may be 30 s).
 */
class Searches {
  readonly #byPeer = new Map<
    string,
    SearchState & { seen: number; nodeId?: string }
  >();
  readonly #received = new Map<string, ReceiveProgress & { seen: number }>();
  /** Peers whose search was just aligned to theirs (not yet acted on). */
  readonly #realigned = new Set<string>();
  /** When each peer's handshake last began: first sight or a re-add. */
  readonly #handshakeAt = new Map<string, number>();
  readonly #ctx: PluginContext;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  /** The timers in force (options; a reload replaces them). */
  timers: SearchTimers;

  constructor(ctx: PluginContext, timers: SearchTimers) {
    this.#ctx = ctx;
    this.timers = timers;
    ctx.signal.addEventListener("abort", () => this.stop());
  }

  /**
   * The peer's search at `now` (updated), undefined while it is up; aligned
   * to the peer's own announced search of this node (`peer.since`).
   */
  update(
    key: string,
    state: Parameters<typeof searchState>[1],
    receiveBytes: number,
    endpoints: readonly string[],
    now: number,
    peer?: PeerEntry,
  ): SearchState | undefined {
    const progress = receiveProgress(
      this.#received.get(key),
      receiveBytes,
      now,
    );
    this.#received.set(key, { ...progress, seen: now });
    if (!this.#handshakeAt.has(key)) this.#handshakeAt.set(key, now);
    const previous = this.#byPeer.get(key);
    const found = searchState(
      previous,
      searchedState(state, progress, now, this.timers, peer?.since),
      endpoints,
      now,
    );
    if (!found) {
      if (previous) this.#ctx.requestReconcile("peer search ended");
      this.#byPeer.delete(key);
      return undefined;
    }
    const next = alignedSearch(found, peer?.since, now);
    if (next !== found) this.#realigned.add(key);
    if (next.startedAt !== previous?.startedAt) {
      // Publish the new start soon: the peer aligns its search to it.
      this.#ctx.requestReconcile("peer search started");
    }
    this.#byPeer.set(key, {
      ...next,
      seen: now,
      ...(peer ? { nodeId: peer.nodeId } : {}),
    });
    this.#forgetOld(now);
    this.#wakeAt(nextWake(next, now, this.timers), now);
    return next;
  }

  get(key: string): SearchState | undefined {
    return this.#byPeer.get(key);
  }

  /**
   * Whether the peer's search was just aligned to its own (once): the peer
   * started searching after this side last tried, so the current candidate
   * is tried again at once, with a fresh handshake (the peer may not have
   * known this node when it was last sent one).
   */
  takeRealigned(key: string): boolean {
    return this.#realigned.delete(key);
  }

  /** Puts back a realignment that could not be acted on yet. */
  keepRealigned(key: string): void {
    this.#realigned.add(key);
  }

  /**
   * A switch (a re-add) wanted at `now`: true when it may happen now (and
   * notes it), false when the peer's handshake began less than
   * {@linkcode RESTART_GAP_MS} ago; the loop is then woken when it may.
   */
  mayRestart(key: string, now: number): boolean {
    const at = (this.#handshakeAt.get(key) ?? -Infinity) + RESTART_GAP_MS;
    if (now < at) {
      this.#wakeAt(at, now);
      return false;
    }
    this.#handshakeAt.set(key, now);
    return true;
  }

  /** The searches to announce: peer and start, the most recent first. */
  announced(): PeerSearchSpec[] {
    return [...this.#byPeer.values()]
      .flatMap((s) =>
        s.nodeId !== undefined
          ? [{ affiliateID: s.nodeId, since: s.startedAt }]
          : []
      )
      .sort((a, b) =>
        b.since - a.since ||
        (a.affiliateID < b.affiliateID
          ? -1
          : a.affiliateID > b.affiliateID
          ? 1
          : 0)
      )
      .slice(0, MAX_ANNOUNCED);
  }

  /** The peer is reaching us right now: keep its endpoint. */
  holding(key: string, now: number): boolean {
    const progress = this.#received.get(key);
    return progress !== undefined && holdsSwitch(progress, now, this.timers);
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #forgetOld(now: number): void {
    for (const map of [this.#byPeer, this.#received]) {
      for (const [key, s] of map) {
        if (now - s.seen > FORGET_AFTER_MS) map.delete(key);
      }
    }
    for (const key of this.#handshakeAt.keys()) {
      if (!this.#received.has(key)) this.#handshakeAt.delete(key);
    }
  }

  #wakeAt(at: number, now: number): void {
    if (this.#ctx.signal.aborted || at >= this.#timerAt) return;
    this.stop();
    this.#timerAt = at;
    const timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#ctx.requestReconcile("endpoint search");
    }, Math.max(0, at - now));
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }
}

/**
 * Replaces KubeSpan's endpoint cycling (it answers the peer selection hook
 * first): a peer that is not up gets its candidates in turn, 2.5 s each,
 * each switch restarting its handshake; an up peer keeps its endpoint; a peer
 * that never answered is down with a reason after every candidate was tried
 * and 30 s passed (then 15 s a candidate); an up peer silent for 60 s is
 * searched again. Searches are announced through discovery and aligned to
 * the peer's announced search of this node (coordinated simultaneous open,
 * see {@linkcode alignedSearch}). The four timers and the coordination are
 * options (`switchInterval`, `downAfter`, `downSwitchInterval`,
 * `silentAfter`, `coordinate`; see `options.ts`).
 */
export const endpointSearchPlugin = definePlugin<"peerSelection", SearchTimers>(
  {
    name: "endpoint-search",
    hooks: ["peerSelection"],
    version: "1.0.0",
    description:
      "Tries a peer's endpoints 2.5 s each until a handshake, then keeps it, in step with the peer's own search; a peer that never answers is down with a reason (options: switchInterval, downAfter, downSwitchInterval, silentAfter, coordinate)",
    defaultEnabled: true,
    parseOptions: parseSearchOptions,
    create(ctx, options) {
      const searches = new Searches(ctx, { ...options });
      const peerOf = peerDirectory(ctx);
      return {
        peerSelection: {
          nextEndpoint(status, spec, now) {
            const search = searches.update(
              spec.address,
              status.state,
              status.receiveBytes,
              spec.endpoints,
              now,
              searches.timers.coordinate
                ? peerOf(spec.address, now)
                : undefined,
            );
            if (!search || searches.holding(spec.address, now)) {
              // The peer is reaching us: no fresh handshake needed.
              searches.takeRealigned(spec.address);
              return undefined;
            }
            const wanted = scheduledEndpoint(search, now, searches.timers);
            const again = searches.takeRealigned(spec.address);
            if (
              wanted === undefined ||
              (wanted === status.lastUsedEndpoint && !again)
            ) return undefined;
            // A peer without an endpoint yet is added, not re-added.
            if (
              status.lastUsedEndpoint !== "" &&
              !searches.mayRestart(spec.address, now)
            ) {
              if (again) searches.keepRealigned(spec.address);
              return undefined;
            }
            return wanted;
          },
          searches: () =>
            searches.timers.coordinate ? searches.announced() : [],
          restartHandshake: (_status, spec) =>
            searches.get(spec.address) !== undefined,
          judge: (status, spec, now) =>
            searchVerdict(
              searches.get(spec.address),
              status.state,
              now,
              searches.timers,
            ),
        },
        reload(options) {
          searches.timers = { ...options };
          ctx.requestReconcile("endpoint-search options changed");
        },
        stop() {
          searches.stop();
        },
      };
    },
  },
);
