/**
 * The relay's data path: two UDP sockets per pair (its legs) on the
 * underlay, forwarding datagrams between the two latched senders unchanged
 * (see {@linkcode routeDatagram}). Plain UDP sockets: the mesh's nftables
 * table marks only traffic to peers' mesh prefixes, never the legs.
 *
 * @module
 */
import { createUdpSocket, type UdpRemote, type UdpSocket } from "./udp.ts";
import {
  ByteBucket,
  type Leg,
  routeDatagram,
  type UdpAddress,
} from "./legs.ts";

/** Counters of one forwarded pair. */
export interface PairCounters {
  forwardedBytes: number;
  /** Bytes that arrived on each leg and went out of the other. */
  legBytes: [number, number];
  forwardedPackets: number;
  dropped: number;
}

/** One pair's legs, bound and forwarding. */
export interface PairForwarder {
  readonly ports: readonly [number, number];
  readonly counters: PairCounters;
  /** The sender each leg latched onto, if any yet. */
  latched(): [UdpAddress | undefined, UdpAddress | undefined];
  close(): Promise<void>;
}

/** Options of {@linkcode openPair}. */
export interface OpenPairOptions {
  ports: readonly [number, number];
  /** Hosts allowed to latch each leg (undefined = first sender). */
  expectHosts?: readonly [string | undefined, string | undefined];
  /** Shared byte budget of the relay. */
  bucket: ByteBucket;
  /** Called with the bytes of each forwarded datagram. */
  onForward?: (bytes: number) => void;
  /** Address to bind. @default "0.0.0.0" */
  bindAddress?: string;
  now?: () => number;
}

function bind(
  socket: UdpSocket,
  port: number,
  address: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, address, () => {
      socket.off("error", reject);
      resolve();
    });
  });
}

/** Binds both legs of a pair; rejects (closing both) when a port is taken. */
export async function openPair(
  options: OpenPairOptions,
): Promise<PairForwarder> {
  const now = options.now ?? Date.now;
  const address = options.bindAddress ?? "0.0.0.0";
  const type = address.includes(":") ? "udp6" : "udp4";
  const sockets = [
    await createUdpSocket(type),
    await createUdpSocket(type),
  ] as const;
  const legs: [Leg, Leg] = [{}, {}];
  options.expectHosts?.forEach((h, i) => {
    if (h !== undefined) legs[i as 0 | 1].expectHost = h;
  });
  const held: [Uint8Array | undefined, Uint8Array | undefined] = [
    undefined,
    undefined,
  ];
  const counters: PairCounters = {
    forwardedBytes: 0,
    legBytes: [0, 0],
    forwardedPackets: 0,
    dropped: 0,
  };
  const send = (
    side: 0 | 1,
    msg: Uint8Array,
    to: UdpRemote | { address: string; port: number },
  ) => {
    if (!options.bucket.take(msg.length, now())) {
      counters.dropped++;
      return;
    }
    sockets[side].send(msg, to.port, to.address);
    counters.forwardedBytes += msg.length;
    counters.legBytes[side === 0 ? 1 : 0] += msg.length;
    counters.forwardedPackets++;
    options.onForward?.(msg.length);
  };
  sockets.forEach((socket, i) => {
    const side = i as 0 | 1;
    const other = side === 0 ? 1 : 0;
    socket.on("message", (msg: Uint8Array, from: UdpRemote) => {
      const action = routeDatagram(legs, side, from);
      if (action.kind === "drop") {
        counters.dropped++;
        return;
      }
      // A datagram held on the other leg can go now that this one latched.
      const waiting = held[other];
      if (waiting && legs[side].latched) {
        held[other] = undefined;
        send(side, waiting, legs[side].latched!);
      }
      if (action.kind === "hold") {
        held[side] = msg;
        return;
      }
      send(other, msg, action.to);
    });
    socket.on("error", () => {});
  });
  try {
    await bind(sockets[0], options.ports[0], address);
    await bind(sockets[1], options.ports[1], address);
  } catch (e) {
    for (const s of sockets) {
      try {
        s.close();
      } catch { /* not bound */ }
    }
    throw e;
  }
  return {
    ports: options.ports,
    counters,
    latched: () => [legs[0].latched, legs[1].latched],
    close: async () => {
      await Promise.all(
        sockets.map((s) =>
          new Promise<void>((resolve) => {
            try {
              s.close(() => resolve());
            } catch {
              resolve();
            }
          })
        ),
      );
    },
  };
}
