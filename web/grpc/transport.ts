/**
 * gRPC calls over the project's own HTTP/2 client: one connection per
 * target, shared by streaming and unary calls alike, PINGed
 * while calls are open and replaced when it fails or the server sends
 * GOAWAY. Implements the `Transport` the typed clients are built on.
 *
 * @module
 */
import {
  create,
  type DescMessage,
  type DescMethodStreaming,
  type DescMethodUnary,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { concatBytes } from "../../core/encoding/bytes.ts";
import {
  type ClientStream,
  H2ClientConnection,
  H2ClientError,
  type StreamEvent,
} from "../h2/client.ts";
import type { HeaderField } from "../h2/hpack.ts";
import { grpcFrame, GrpcFramingError, GrpcMessageReader } from "./message.ts";
import { authority as authorityOf, type H2Target } from "../h2/target.ts";

/** Options of {@linkcode createGrpcTransport}. */
export interface GrpcTransportOptions {
  /** Sent as `user-agent`. @default "edgespan" */
  userAgent?: string;
  /** Largest response message accepted. @default 16 MiB */
  maxMessageBytes?: number;
  /** PING interval while calls are open. @default 5 min */
  pingIntervalMs?: number;
  /**
   * Close the connection once no call has been open this long; 0 closes it
   * as soon as the last call ends. @default 60 s
   */
  idleCloseMs?: number;
}

/** A transport that also owns its connection. */
export interface GrpcTransport extends Transport {
  /** Closes the connection; calls in flight fail. */
  close(): void;
}

// gRPC's mapping of HTTP status to a status code, when a proxy answers.
function codeOfHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

function toHeaders(fields: readonly HeaderField[]): Headers {
  const h = new Headers();
  for (const [name, value] of fields) {
    if (!name.startsWith(":")) h.append(name, value);
  }
  return h;
}

/** The status carried by trailers (or a trailers-only answer). */
function statusError(trailer: Headers): ConnectError | undefined {
  const raw = trailer.get("grpc-status");
  if (raw === null) {
    return new ConnectError(
      "the response carries no grpc-status",
      Code.Internal,
    );
  }
  const code = Number(raw);
  if (code === 0) return undefined;
  let message = trailer.get("grpc-message") ?? "";
  try {
    message = decodeURIComponent(message);
  } catch {
    // shown as sent
  }
  return new ConnectError(
    message,
    Number.isInteger(code) && code > 0 && code <= 16 ? code : Code.Unknown,
    trailer,
  );
}

function asConnectError(err: unknown, what: string): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof GrpcFramingError) {
    return new ConnectError(`${what}: ${err.message}`, Code.Internal);
  }
  if (err instanceof H2ClientError) {
    return new ConnectError(`${what}: ${err.message}`, Code.Unavailable);
  }
  return new ConnectError(
    `${what}: ${err instanceof Error ? err.message : String(err)}`,
    Code.Unknown,
  );
}

/** One call in flight: the stream, and how it may end early. */
interface Call {
  header: Headers;
  trailer: Headers;
  /** Yields messages, then checks the status; ends the call either way. */
  messages(): AsyncGenerator<Uint8Array>;
}

/** Builds a transport to `target`; close it when done. */
export function createGrpcTransport(
  target: H2Target,
  options: GrpcTransportOptions = {},
): GrpcTransport {
  const authority = authorityOf(target);
  const maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024;
  const idleCloseMs = options.idleCloseMs ?? 60_000;
  let connection: Promise<H2ClientConnection> | undefined;
  let closed = false;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;

  async function connected(fresh: boolean): Promise<H2ClientConnection> {
    if (closed) throw new ConnectError("transport closed", Code.Canceled);
    if (connection && !fresh) {
      const c = await connection.catch(() => undefined);
      if (c?.usable) return c;
    }
    // The one before takes no new calls and closes after its last one.
    void connection?.then((c) => c.drain(), () => {});
    connection = H2ClientConnection.connect(target, {
      ...(options.pingIntervalMs
        ? { pingIntervalMs: options.pingIntervalMs }
        : {}),
    });
    return await connection;
  }

  /**
   * Calls between their start and their end, connecting included: the
   * connection is idle only when none is, so a call that has just been
   * handed the connection never sees it closed under it.
   */
  let calls = 0;

  /** After a call: close the connection once no call is left for a while. */
  function callEnded(): void {
    calls--;
    if (calls > 0 || closed) return;
    clearTimeout(idleTimer);
    const closeIfIdle = () => {
      if (calls > 0) return;
      void connection?.then((c) => c.drain(), () => {});
      connection = undefined;
    };
    if (idleCloseMs === 0) closeIfIdle();
    else idleTimer = setTimeout(closeIfIdle, idleCloseMs);
  }

  async function open(
    path: string,
    body: Uint8Array,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    extra: HeadersInit | undefined,
  ): Promise<Call> {
    const fields: HeaderField[] = [
      [":method", "POST"],
      [":scheme", target.tls ? "https" : "http"],
      [":path", path],
      [":authority", authority],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ["user-agent", options.userAgent ?? "edgespan"],
    ];
    if (timeoutMs !== undefined && timeoutMs > 0) {
      fields.push(["grpc-timeout", `${Math.ceil(timeoutMs)}m`]);
    }
    new Headers(extra).forEach((value, name) => fields.push([name, value]));

    if (signal?.aborted) {
      throw new ConnectError("the call was cancelled", Code.Canceled);
    }
    calls++;
    clearTimeout(idleTimer);
    let stream: ClientStream | undefined;
    let ended: ConnectError | undefined;
    const stop = (why: ConnectError) => {
      ended ??= why;
      stream?.cancel();
    };
    const onAbort = () =>
      stop(new ConnectError("the call was cancelled", Code.Canceled));
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = timeoutMs !== undefined && timeoutMs > 0
      ? setTimeout(
        () =>
          stop(
            new ConnectError(
              `no answer within ${timeoutMs} ms`,
              Code.DeadlineExceeded,
            ),
          ),
        timeoutMs,
      )
      : undefined;
    let disposed = false;
    const dispose = () => {
      if (disposed) return;
      disposed = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (stream && !stream.done) stream.cancel();
      callEnded();
    };
    const next = async (s: ClientStream) => {
      try {
        return await s.read();
      } catch (err) {
        throw ended ?? asConnectError(err, path);
      }
    };

    try {
      let first: StreamEvent | undefined;
      // A connection that went away between calls (closed while idle, or a
      // GOAWAY that excludes this stream) never saw the request: one fresh
      // try on a new connection.
      for (let attempt = 0;; attempt++) {
        let reached = false;
        stream = undefined;
        try {
          const c = await connected(attempt > 0);
          reached = true;
          stream = c.request(fields, body);
          first = await stream.read();
          break;
        } catch (err) {
          // A connect failure is not sent again: the caller's backoff decides.
          const unseen = reached && err instanceof H2ClientError &&
            err.retryable && !stream?.answered;
          if (ended || attempt > 0 || !unseen) {
            throw ended ?? asConnectError(err, path);
          }
        }
      }
      const call = stream!;
      if (!first || first.kind !== "headers") {
        throw new ConnectError(`${path}: no response headers`, Code.Internal);
      }
      const status = Number(
        first.fields.find(([n]) => n === ":status")?.[1] ?? 0,
      );
      const header = toHeaders(first.fields);
      if (status !== 200) {
        throw new ConnectError(
          `${path}: HTTP status ${status} instead of a gRPC answer`,
          codeOfHttpStatus(status),
        );
      }
      const trailer = new Headers();
      const trailersOnly = first.end;
      if (trailersOnly) header.forEach((v, n) => trailer.set(n, v));
      const reader = new GrpcMessageReader(maxMessageBytes);
      return {
        header,
        trailer,
        async *messages() {
          try {
            let done = trailersOnly;
            while (!done) {
              const e = await next(call);
              if (!e) {
                throw new ConnectError(
                  `${path}: the stream ended without a status`,
                  Code.Internal,
                );
              }
              if (e.kind === "data") {
                for (const m of reader.push(e.bytes)) yield m;
                if (e.end) {
                  throw new ConnectError(
                    `${path}: the stream ended without a status`,
                    Code.Internal,
                  );
                }
                continue;
              }
              toHeaders(e.fields).forEach((v, n) => trailer.set(n, v));
              done = true;
            }
            if (reader.partial) {
              throw new ConnectError(
                `${path}: the last message is incomplete`,
                Code.Internal,
              );
            }
            const err = statusError(trailer);
            if (err) throw err;
          } catch (err) {
            throw ended ?? asConnectError(err, path);
          } finally {
            dispose();
          }
        },
      };
    } catch (err) {
      dispose();
      throw ended ?? asConnectError(err, path);
    }
  }

  const pathOf = (method: { parent: { typeName: string }; name: string }) =>
    `/${method.parent.typeName}/${method.name}`;

  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: MessageInitShape<I>,
    ): Promise<UnaryResponse<I, O>> {
      const body = grpcFrame(
        toBinary(method.input, create(method.input, input)),
      );
      const call = await open(
        pathOf(method),
        body,
        signal,
        timeoutMs,
        header,
      );
      let message: MessageShape<O> | undefined;
      for await (const bytes of call.messages()) {
        if (message !== undefined) {
          throw new ConnectError(
            `${pathOf(method)}: more than one response message`,
            Code.Unimplemented,
          );
        }
        message = fromBinary(method.output, bytes);
      }
      if (message === undefined) {
        throw new ConnectError(
          `${pathOf(method)}: no response message`,
          Code.Unimplemented,
        );
      }
      return {
        stream: false,
        service: method.parent,
        method,
        header: call.header,
        trailer: call.trailer,
        message,
      };
    },

    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
    ): Promise<StreamResponse<I, O>> {
      const parts: Uint8Array[] = [];
      for await (const m of input) {
        parts.push(grpcFrame(toBinary(method.input, create(method.input, m))));
      }
      const call = await open(
        pathOf(method),
        concatBytes(parts),
        signal,
        timeoutMs,
        header,
      );
      return {
        stream: true,
        service: method.parent,
        method,
        header: call.header,
        trailer: call.trailer,
        message: (async function* () {
          for await (const bytes of call.messages()) {
            yield fromBinary(method.output, bytes);
          }
        })(),
      };
    },

    close() {
      closed = true;
      clearTimeout(idleTimer);
      void connection?.then((c) => c.close(), () => {});
      connection = undefined;
    },
  };
}
