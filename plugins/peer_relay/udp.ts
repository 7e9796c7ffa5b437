/**
 * UDP sockets for the relay, from `node:dgram` loaded on first use: a
 * static import starts Deno's Node compatibility layer in every agent
 * (measured: 3.6 MB more resident memory at start), while most boxes never
 * open a relay socket.
 *
 * @module
 */
import type dgram from "node:dgram";

/** A bound or unbound UDP socket. */
export type UdpSocket = dgram.Socket;
/** Where a datagram came from. */
export type UdpRemote = dgram.RemoteInfo;

let loading: Promise<typeof dgram> | undefined;

/** A new UDP socket (the module is imported once, on the first call). */
export async function createUdpSocket(
  type: "udp4" | "udp6",
): Promise<UdpSocket> {
  loading ??= import("node:dgram").then((m) => m.default);
  try {
    return (await loading).createSocket(type);
  } catch (err) {
    loading = undefined; // try the import again next time
    throw err;
  }
}
