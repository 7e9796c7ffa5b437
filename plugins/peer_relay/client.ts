/**
 * The relay client: for each pair that needs a relay it asks every relay
 * this box is up with (over the mesh, every second) whether the other end
 * joined it too, and asks the preferred one for legs. Keeps the answers
 * for {@linkcode chooseRelay}.
 *
 * @module
 */
import { createUdpSocket, type UdpRemote, type UdpSocket } from "./udp.ts";
import {
  preferredRelay,
  rankRelays,
  type RelayAnswer,
  type RelayView,
} from "./choice.ts";
import { decodeMessage, encodeMessage } from "./protocol.ts";
import { plainHost } from "./legs.ts";

/** A relay offered in discovery, as this box sees it now. */
export interface OfferedRelay {
  key: string;
  label: string;
  meshAddress: string;
  controlPort: number;
  priority: number;
  up: boolean;
  host: string;
}

/** How long a relay failure keeps a pair off that relay. */
export const FAILED_FOR_MS = 60_000;
/** How often the relays are asked. */
export const REFRESH_MS = 1_000;

/** Options of {@linkcode RelayClient}. */
export interface RelayClientOptions {
  self: string;
  relays: () => OfferedRelay[];
  /** A pair's answers changed: reconcile soon. */
  onChange: () => void;
  /** A relay refused the pair with `peer` (first time per reason). */
  onRefused?: (peer: string, relay: string, reason: string) => void;
  now?: () => number;
}

/** Asks relays about this box's pairs. */
export class RelayClient {
  readonly #o: RelayClientOptions;
  readonly #now: () => number;
  /** peer → relay → answer. */
  readonly #answers = new Map<string, Map<string, RelayAnswer>>();
  /** peer → relay → failed until. */
  readonly #failed = new Map<string, Map<string, number>>();
  /** peer → wanted until. */
  readonly #wanted = new Map<string, number>();
  readonly #pending = new Map<number, { peer: string; relay: string }>();
  #socket: UdpSocket | undefined;
  /** The socket being opened (on the first pair that wants a relay). */
  #opening: Promise<void> | undefined;
  #stopped = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #id = 1;

  constructor(options: RelayClientOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    this.#stopped = false;
    this.#timer = setInterval(() => this.refresh(), REFRESH_MS);
    Deno.unrefTimer(this.#timer);
  }

  /**
   * The socket once it is bound; the first call opens it (a box that never
   * needs a relay never loads the UDP module) and runs `then` when it is.
   */
  #ready(then: () => void): UdpSocket | undefined {
    if (this.#socket || this.#stopped) return this.#socket;
    this.#opening ??= createUdpSocket("udp6").then((s) => {
      if (this.#stopped) {
        s.close();
        return;
      }
      s.on(
        "message",
        (msg: Uint8Array, from: UdpRemote) => this.#onReply(msg, from),
      );
      s.on("error", () => {});
      s.bind(0);
      this.#socket = s;
    }).catch(() => {
      this.#opening = undefined; // the next refresh tries again
    });
    void this.#opening.then(() => {
      if (this.#socket) then();
    });
    return undefined;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    try {
      this.#socket?.close();
    } catch { /* closed */ }
    this.#socket = undefined;
  }

  /** The pair with `peer` needs a relay (for the next few seconds). */
  want(peer: string): void {
    const first = !this.#wanted.has(peer);
    this.#wanted.set(peer, this.#now() + 3 * REFRESH_MS);
    if (first) this.refresh();
  }

  /** `relay` failed the pair with `peer`: skip it for a while. */
  fail(peer: string, relay: string): void {
    let m = this.#failed.get(peer);
    if (!m) this.#failed.set(peer, m = new Map());
    m.set(relay, this.#now() + FAILED_FOR_MS);
  }

  /** The relays of the pair with `peer`, in rank order, with their answers. */
  views(peer: string): { ranked: string[]; views: Map<string, RelayView> } {
    const relays = this.#o.relays();
    const ranked = rankRelays(this.#o.self, peer, relays);
    const views = new Map<string, RelayView>();
    for (const r of relays) {
      const answer = this.#answers.get(peer)?.get(r.key);
      const failedUntil = this.#failed.get(peer)?.get(r.key);
      views.set(r.key, {
        key: r.key,
        label: r.label,
        up: r.up,
        host: r.host,
        ...(answer ? { answer } : {}),
        ...(failedUntil !== undefined ? { failedUntil } : {}),
      });
    }
    return { ranked, views };
  }

  /** Sends one datagram to a peer's mesh address (traffic for a probe). */
  poke(meshAddress: string, port: number): void {
    const send = () =>
      this.#socket?.send(encodeMessage({ op: "poke" }), port, meshAddress);
    if (this.#ready(send)) send();
  }

  /** Asks every usable relay about every wanted pair. */
  refresh(): void {
    if (this.#wanted.size === 0) return;
    const now = this.#now();
    const s = this.#ready(() => this.refresh());
    if (!s) return;
    const relays = new Map(this.#o.relays().map((r) => [r.key, r]));
    for (const [peer, until] of this.#wanted) {
      if (until < now) {
        this.#wanted.delete(peer);
        this.#answers.delete(peer);
        continue;
      }
      const { ranked, views } = this.views(peer);
      const preferred = preferredRelay(ranked, views, now)?.key;
      for (const key of ranked) {
        const r = relays.get(key);
        const v = views.get(key);
        if (!r || !v || !v.up || (v.failedUntil ?? 0) > now) continue;
        const id = this.#id++;
        if (this.#id > 1e9) this.#id = 1;
        this.#pending.set(id, { peer, relay: key });
        s.send(
          encodeMessage({ op: "join", id, peer, use: key === preferred }),
          r.controlPort,
          r.meshAddress,
        );
      }
    }
    // Replies older than a few refreshes will not come.
    for (const id of this.#pending.keys()) {
      if (id < this.#id - 1000) this.#pending.delete(id);
    }
  }

  #onReply(msg: Uint8Array, from: UdpRemote): void {
    const m = decodeMessage(msg);
    if (!m || m.op !== "joined") return;
    const p = this.#pending.get(m.id);
    if (!p || p.peer !== m.peer) return;
    const relay = this.#o.relays().find((r) => r.key === p.relay);
    if (!relay || relay.meshAddress !== plainHost(from.address)) return;
    this.#pending.delete(m.id);
    let answers = this.#answers.get(p.peer);
    if (!answers) this.#answers.set(p.peer, answers = new Map());
    const before = answers.get(p.relay);
    const answer: RelayAnswer = {
      at: this.#now(),
      joined: m.joined,
      ...(m.leg !== undefined ? { leg: m.leg } : {}),
      ...(m.refused !== undefined ? { refused: m.refused } : {}),
    };
    answers.set(p.relay, answer);
    if (answer.refused !== undefined && before?.refused !== answer.refused) {
      this.#o.onRefused?.(p.peer, p.relay, answer.refused);
    }
    if (
      !before || before.joined !== answer.joined ||
      before.leg !== answer.leg || before.refused !== answer.refused
    ) this.#o.onChange();
  }
}
