/**
 * A gRPC transport that gives every call an HTTP/2 connection of its own and
 * closes it when the call ends.
 *
 * Why: Deno's HTTP/2 layer can abort the whole process when a GOAWAY (a
 * server shutting down or restarting) arrives on a connection that still
 * holds recently closed streams. With one connection per call, a connection
 * never holds a closed stream: unary calls close theirs on completion, and a
 * Watch keeps its single stream open until the connection goes away. The cost
 * is one TCP (and TLS) handshake per call, which is nothing at discovery's
 * rate of a few calls per node per 15 minutes.
 *
 * @module
 */
import type { Transport } from "@connectrpc/connect";
import {
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";

/** Options of {@linkcode createIsolatedTransport}. */
export interface IsolatedTransportOptions {
  /** PEM CA text for TLS services with a private CA. */
  ca?: string;
}

function connection(baseUrl: string, options: IsolatedTransportOptions) {
  const sessions = new Http2SessionManager(
    baseUrl,
    { pingIntervalMs: 3 * 60_000 },
    options.ca ? { ca: options.ca } : undefined,
  );
  return {
    transport: createGrpcTransport({ baseUrl, sessionManager: sessions }),
    close: () => sessions.abort(),
  };
}

/** Builds the transport. */
export function createIsolatedTransport(
  baseUrl: string,
  options: IsolatedTransportOptions = {},
): Transport {
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const c = connection(baseUrl, options);
      try {
        return await c.transport.unary(
          method,
          signal,
          timeoutMs,
          header,
          input,
          contextValues,
        );
      } finally {
        c.close();
      }
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const c = connection(baseUrl, options);
      let response;
      try {
        response = await c.transport.stream(
          method,
          signal,
          timeoutMs,
          header,
          input,
          contextValues,
        );
      } catch (e) {
        c.close();
        throw e;
      }
      const messages = response.message;
      return {
        ...response,
        message: (async function* () {
          try {
            yield* messages;
          } finally {
            c.close();
          }
        })(),
      };
    },
  };
}
