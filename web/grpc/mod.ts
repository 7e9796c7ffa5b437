/**
 * gRPC over the project's own HTTP/2 (`web/h2`): message framing, status
 * codes, a Connect `Transport` for unary and server-streaming calls, and the
 * helpers a server uses to answer one call on an HTTP/2 stream. See
 * README.md for why the project owns it.
 *
 * @module
 */
export { grpcFrame, GrpcFramingError, GrpcMessageReader } from "./message.ts";
export { GrpcError, GrpcStatus, type GrpcStatusName } from "./status.ts";
export {
  createGrpcTransport,
  type GrpcTransport,
  type GrpcTransportOptions,
} from "./transport.ts";
export {
  checkGrpcRequest,
  GrpcResponder,
  parseGrpcTimeout,
  readRequestMessage,
} from "./server.ts";
