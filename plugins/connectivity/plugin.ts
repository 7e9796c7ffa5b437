/**
 * The connectivity plugins: `lan-preference` orders a peer's endpoint
 * candidates by locality; `endpoint-search` tries them on a fast schedule
 * while the peer is not up and reports a peer that never answered as down,
 * with a reason.
 *
 * @module
 */
import { definePlugin, type PluginContext } from "../../core/plugins/types.ts";
import { orderByLocality } from "./locality.ts";
import {
  holdsSwitch,
  nextWake,
  type ReceiveProgress,
  receiveProgress,
  scheduledEndpoint,
  SEARCH_TIMERS,
  searchedState,
  type SearchState,
  searchState,
  searchVerdict,
} from "./search.ts";

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

/** A search not looked at for this long belongs to a peer that is gone. */
const FORGET_AFTER_MS = 10 * 60_000;

/**
 * The per-peer searches of one plugin instance, keyed by the peer's mesh
 * address, and the one timer that wakes the reconcile loop when the
 * schedule moves on (the site's tick may be 30 s).
 */
class Searches {
  readonly #byPeer = new Map<string, SearchState & { seen: number }>();
  readonly #received = new Map<string, ReceiveProgress & { seen: number }>();
  readonly #ctx: PluginContext;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;

  constructor(ctx: PluginContext) {
    this.#ctx = ctx;
    ctx.signal.addEventListener("abort", () => this.stop());
  }

  /** The peer's search at `now` (updated), undefined while it is up. */
  update(
    key: string,
    state: Parameters<typeof searchState>[1],
    receiveBytes: number,
    endpoints: readonly string[],
    now: number,
  ): SearchState | undefined {
    const progress = receiveProgress(
      this.#received.get(key),
      receiveBytes,
      now,
    );
    this.#received.set(key, { ...progress, seen: now });
    const next = searchState(
      this.#byPeer.get(key),
      searchedState(state, progress, now, SEARCH_TIMERS),
      endpoints,
      now,
    );
    if (!next) {
      this.#byPeer.delete(key);
      return undefined;
    }
    this.#byPeer.set(key, { ...next, seen: now });
    this.#forgetOld(now);
    this.#wakeAt(nextWake(next, now), now);
    return next;
  }

  get(key: string): SearchState | undefined {
    return this.#byPeer.get(key);
  }

  /** The peer is reaching us right now: keep its endpoint. */
  holding(key: string, now: number): boolean {
    const progress = this.#received.get(key);
    return progress !== undefined && holdsSwitch(progress, now, SEARCH_TIMERS);
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
 * and 30 s passed.
 */
export const endpointSearchPlugin = definePlugin({
  name: "endpoint-search",
  hooks: ["peerSelection"],
  version: "1.0.0",
  description:
    "Tries a peer's endpoints 2.5 s each until a handshake, then keeps it; a peer that never answers is down with a reason",
  defaultEnabled: true,
  create(ctx) {
    const searches = new Searches(ctx);
    return {
      peerSelection: {
        nextEndpoint(status, spec, now) {
          const search = searches.update(
            spec.address,
            status.state,
            status.receiveBytes,
            spec.endpoints,
            now,
          );
          if (!search || searches.holding(spec.address, now)) return undefined;
          const wanted = scheduledEndpoint(search, now, SEARCH_TIMERS);
          return wanted !== undefined && wanted !== status.lastUsedEndpoint
            ? wanted
            : undefined;
        },
        restartHandshake: (_status, spec) =>
          searches.get(spec.address) !== undefined,
        judge: (status, spec, now) =>
          searchVerdict(
            searches.get(spec.address),
            status.state,
            now,
            SEARCH_TIMERS,
          ),
      },
      stop() {
        searches.stop();
      },
    };
  },
});
