/**
 * gRPC over one HTTP/2 stream (the gRPC "PROTOCOL-HTTP2" mapping): request
 * checks, message framing `flag(1) ‖ length(4, big-endian) ‖ protobuf`, and
 * the status in trailers (or in the headers of a trailers-only answer).
 *
 * @module
 */
import type { HeaderField } from "../h2/hpack.ts";
import { BodyTooLargeError, type ServerStream } from "../h2/server_stream.ts";
import { GrpcError, GrpcStatus, type GrpcStatusName } from "./status.ts";

/** `grpc-timeout` in milliseconds (undefined when absent or malformed). */
export function parseGrpcTimeout(
  value: string | undefined,
): number | undefined {
  const m = value ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  if (!m) return undefined;
  const unitMs = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[
    m[2] as "H" | "M" | "S" | "m" | "u" | "n"
  ];
  return Number(m[1]) * unitMs;
}

/**
 * The status a plain request gets before any gRPC processing: wrong method
 * or content type (undefined when the request is a gRPC call).
 */
export function checkGrpcRequest(stream: ServerStream): GrpcError | undefined {
  const ct = stream.request.headers.get("content-type") ?? "";
  if (stream.request.method !== "POST") {
    return new GrpcError("Unimplemented", "gRPC calls use POST");
  }
  if (!/^application\/grpc(\+proto)?(;|$)/.test(ct)) {
    return new GrpcError(
      "Unimplemented",
      `content type ${JSON.stringify(ct)} is not gRPC (protobuf)`,
    );
  }
  const encoding = stream.request.headers.get("grpc-encoding");
  if (encoding && encoding !== "identity") {
    return new GrpcError(
      "Unimplemented",
      `compression ${encoding} is not supported`,
    );
  }
  return undefined;
}

/** Reads the single request message of a call. */
export async function readRequestMessage(
  stream: ServerStream,
  maxBytes: number,
): Promise<Uint8Array> {
  let body: Uint8Array;
  try {
    body = await stream.body(maxBytes + 5);
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      throw new GrpcError("ResourceExhausted", "request message is too large");
    }
    throw new GrpcError("Canceled", "the call was cancelled");
  }
  if (body.length < 5) {
    throw new GrpcError("InvalidArgument", "missing request message");
  }
  if (body[0] !== 0) {
    throw new GrpcError(
      "Unimplemented",
      "compressed messages are not supported",
    );
  }
  const length = new DataView(body.buffer, body.byteOffset).getUint32(1);
  if (length !== body.length - 5) {
    throw new GrpcError(
      "InvalidArgument",
      "expected exactly one request message",
    );
  }
  return body.subarray(5);
}

const RESPONSE_HEADERS: HeaderField[] = [
  [":status", "200"],
  ["content-type", "application/grpc"],
  ["grpc-accept-encoding", "identity"],
];

function statusFields(status: GrpcStatusName, message: string): HeaderField[] {
  const fields: HeaderField[] = [["grpc-status", String(GrpcStatus[status])]];
  if (message) fields.push(["grpc-message", encodeURIComponent(message)]);
  return fields;
}

/** The response side of a call: headers once, messages, then the status. */
export class GrpcResponder {
  #headersSent = false;
  constructor(readonly stream: ServerStream) {}

  /** Sends one message framed by `grpcFrame`. */
  send(frame: Uint8Array): Promise<void> {
    this.#headers();
    return this.stream.write(frame);
  }

  /**
   * Queues one framed message without waiting (see `ServerStream.enqueue`);
   * `shared` when the same bytes go to many calls.
   */
  sendNow(frame: Uint8Array, shared = false): void {
    this.#headers();
    this.stream.enqueue(frame, shared);
  }

  #headers(): void {
    if (this.#headersSent) return;
    this.#headersSent = true;
    this.stream.respond(RESPONSE_HEADERS);
  }

  /** Ends the call with `status`. */
  finish(status: GrpcStatusName, message = ""): void {
    if (this.stream.signal.aborted) return;
    if (this.#headersSent) {
      this.stream.end(statusFields(status, message));
    } else {
      this.stream.respond(
        [...RESPONSE_HEADERS, ...statusFields(status, message)],
        true,
      );
    }
  }
}
