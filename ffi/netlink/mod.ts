/**
 * Netlink core: a transport interface and the request/dump/batch protocol
 * over it, sockets (per netns), message framing, an attribute encoder
 * and a sticky-error attribute decoder, typed errors.
 *
 * @module
 */
export * from "./conn.ts";
export * from "./decoder.ts";
export * from "./encoder.ts";
export * from "./errors.ts";
export * from "./message.ts";
export * from "./netns.ts";
export * from "./socket.ts";
