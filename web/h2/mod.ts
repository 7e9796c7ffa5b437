/**
 * The project's own HTTP/2 (RFC 9113, HPACK RFC 7541): a client connection
 * with PING keepalive and GOAWAY handling, a hardened server connection, and
 * an accept loop that also answers plain HTTP/1.1 GETs. Both connections
 * share one core for the frames that mean the same at either end. See
 * README.md for why the project owns it.
 *
 * @module
 */
export { authority, type H2Target } from "./target.ts";
export {
  ClientStream,
  H2ClientConnection,
  H2ClientError,
  type H2ClientOptions,
  type StreamEvent,
} from "./client.ts";
export {
  type H2ConnectionOptions,
  H2ServerConnection,
  looksLikeH2,
} from "./server.ts";
export {
  BodyTooLargeError,
  type H2Request,
  ServerStream,
} from "./server_stream.ts";
export {
  type AcceptLoop,
  acceptLoop,
  type AcceptOptions,
  type ListenerHandlers,
} from "./listener.ts";
export { type PlainResponse } from "./http1.ts";
export { type HeaderField } from "./hpack.ts";
export { type ByteStream } from "./byte_stream.ts";
