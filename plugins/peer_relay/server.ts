/**
 * The relay service of a box with `serve: true`: answers joins on its mesh
 * address (the sender's mesh address identifies the asking box, since only
 * WireGuard delivers packets from it), allocates legs within its limits,
 * forwards, and releases idle pairs.
 *
 * @module
 */
import { createUdpSocket, type UdpRemote, type UdpSocket } from "./udp.ts";
import type { Logger } from "../../core/log/logger.ts";
import { ByteBucket, plainHost } from "./legs.ts";
import { openPair, type PairForwarder } from "./forwarder.ts";
import { decodeMessage, encodeMessage } from "./protocol.ts";
import { type Allocation, RelayTable } from "./table.ts";
import type { RelayPairSpec } from "../../core/resources/specs.ts";
import { countRefusal, relayPairRows } from "./served.ts";

/** What the relay knows of the mesh, read each time it is needed. */
export interface MeshView {
  /** The public key of the box with this mesh address, if it is a peer. */
  keyOfAddress(address: string): string | undefined;
  /** Whether this public key is a peer. */
  isPeer(key: string): boolean;
  /** The underlay host this box's WireGuard sees a peer at, if known. */
  hostOf(key: string): string | undefined;
  /** A peer's label, for logs. */
  labelOf(key: string): string;
}

/** Options of {@linkcode startRelayServer}. */
export interface RelayServerOptions {
  /** This box's mesh address (no length). */
  meshAddress: string;
  controlPort: number;
  ports: readonly [number, number];
  maxPairs: number;
  maxBytesPerSecond: number;
  /** Address the legs bind. @default "0.0.0.0" */
  legAddress?: string;
  view: MeshView;
  log: Logger;
  now?: () => number;
  signal: AbortSignal;
}

/** The running relay service. */
export interface RelayServer {
  /** The pairs served now, as `relaypairs` rows by id. */
  pairs(): Map<string, RelayPairSpec>;
  /** Refused join answers since start, by kind (`full`, `ports`, ...). */
  refusals(): Record<string, number>;
  /** Bytes forwarded since start. */
  forwardedBytes(): number;
  stop(): Promise<void>;
}

/** Starts the relay; binds its control socket once the mesh address exists. */
export function startRelayServer(options: RelayServerOptions): RelayServer {
  const now = options.now ?? Date.now;
  const { log, view } = options;
  const table = new RelayTable({
    ports: options.ports,
    maxPairs: options.maxPairs,
  });
  const bucket = new ByteBucket(options.maxBytesPerSecond, now());
  const forwarders = new Map<string, PairForwarder | Promise<unknown>>();
  let total = 0;
  const refusals: Record<string, number> = {};
  /** Refusals already logged (once per pair and reason). */
  const refusedLogged = new Set<string>();
  let socket: UdpSocket | undefined;
  let stopped = false;

  /** Binds a new pair's legs; false (and the pair released) when that fails. */
  async function open(a: Allocation): Promise<boolean> {
    const expectHosts = [
      view.hostOf(a.keys[0]),
      view.hostOf(a.keys[1]),
    ] as const;
    const opening = openPair({
      ports: a.ports,
      expectHosts,
      bucket,
      onForward: (bytes) => {
        total += bytes;
        table.touch(a.pair, bytes, now());
      },
      ...(options.legAddress ? { bindAddress: options.legAddress } : {}),
      now,
    });
    forwarders.set(a.pair, opening);
    try {
      const f = await opening;
      if (stopped || forwarders.get(a.pair) !== opening) {
        await f.close();
        return false;
      }
      forwarders.set(a.pair, f);
      log.info("relay pair allocated", {
        pair: `${view.labelOf(a.keys[0])}–${view.labelOf(a.keys[1])}`,
        ports: `${a.ports[0]},${a.ports[1]}`,
      });
      return true;
    } catch (e) {
      forwarders.delete(a.pair);
      table.release(a.pair);
      log.warn("relay cannot bind leg ports", {
        ports: `${a.ports[0]},${a.ports[1]}`,
        error: (e as Error).message,
      });
      return false;
    }
  }

  function release(a: Allocation, why: string): void {
    const f = forwarders.get(a.pair);
    forwarders.delete(a.pair);
    if (f && "close" in f) void f.close();
    log.info("relay pair released", {
      pair: `${view.labelOf(a.keys[0])}–${view.labelOf(a.keys[1])}`,
      bytes: a.bytes,
      reason: why,
    });
  }

  async function onMessage(
    msg: Uint8Array,
    from: UdpRemote,
  ): Promise<void> {
    const m = decodeMessage(msg);
    if (!m || m.op !== "join") return;
    const asker = view.keyOfAddress(plainHost(from.address));
    if (!asker || !view.isPeer(m.peer)) return;
    const before = table.allocations().length;
    let answer = table.join(asker, m.peer, m.use, now());
    const all = table.allocations();
    if (all.length > before) {
      const a = all.find((x) =>
        x.keys.includes(asker) && x.keys.includes(m.peer)
      );
      // Answer a leg only once it is bound: a box sending to it earlier
      // would lose its packets.
      if (a && !(await open(a))) {
        answer = { joined: answer.joined, refused: "relay cannot bind legs" };
      }
    }
    if (answer.refused !== undefined) {
      countRefusal(refusals, answer.refused);
      const key = `${asker}|${m.peer}|${answer.refused}`;
      if (!refusedLogged.has(key)) {
        refusedLogged.add(key);
        log.info("relay refused pair", {
          pair: `${view.labelOf(asker)}–${view.labelOf(m.peer)}`,
          reason: answer.refused,
        });
      }
    }
    socket?.send(
      encodeMessage({ op: "joined", id: m.id, peer: m.peer, ...answer }),
      from.port,
      from.address,
    );
  }

  async function bindLoop(): Promise<void> {
    while (!stopped) {
      let s: UdpSocket;
      try {
        s = await createUdpSocket("udp6");
      } catch (err) {
        log.warn("relay: cannot open a UDP socket; trying again in 1 s", {
          error: err instanceof Error ? err.message : String(err),
        });
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      s.on("message", (msg: Uint8Array, from: UdpRemote) => {
        void onMessage(msg, from);
      });
      s.on("error", () => {});
      const ok = await new Promise<boolean>((resolve) => {
        s.once("error", () => resolve(false));
        s.bind(options.controlPort, options.meshAddress, () => resolve(true));
      });
      if (ok && !stopped) {
        socket = s;
        log.info("relay serving", {
          control: `[${options.meshAddress}]:${options.controlPort}`,
          legs: `${options.ports[0]}-${options.ports[1]}`,
          maxPairs: options.maxPairs,
          maxBytesPerSecond: options.maxBytesPerSecond,
        });
        return;
      }
      try {
        s.close();
      } catch { /* not bound */ }
      // The mesh address appears with the WireGuard link.
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  const sweep = setInterval(() => {
    for (const a of table.expire(now())) release(a, "idle");
  }, 1000);
  Deno.unrefTimer(sweep);
  void bindLoop();
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    clearInterval(sweep);
    try {
      socket?.close();
    } catch { /* closed */ }
    await Promise.all(
      [...forwarders.values()].map((f) =>
        "close" in (f as object) ? (f as PairForwarder).close() : undefined
      ),
    );
    forwarders.clear();
  };
  options.signal.addEventListener("abort", () => void stop());

  return {
    pairs: () =>
      relayPairRows(table.allocations(), (pair) => {
        const f = forwarders.get(pair);
        return f && "counters" in f
          ? { counters: f.counters, latched: f.latched() }
          : undefined;
      }, view.labelOf),
    refusals: () => ({ ...refusals }),
    forwardedBytes: () => total,
    stop,
  };
}
