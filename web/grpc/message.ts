/**
 * gRPC message framing, shared by the client and the server:
 * `compressed(1) ‖ length(4, big-endian) ‖ protobuf`.
 *
 * @module
 */

/** Frames one uncompressed message. */
export function grpcFrame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/** A message stream that cannot be read: what is wrong with it. */
export class GrpcFramingError extends Error {}

/** Splits received bytes into whole messages, across any chunking. */
export class GrpcMessageReader {
  #head = new Uint8Array(5);
  #headLength = 0;
  #body: Uint8Array | undefined;
  #bodyLength = 0;

  constructor(readonly maxMessageBytes: number) {}

  /** Messages completed by `chunk`, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    const done: Uint8Array[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (this.#body === undefined) {
        const take = Math.min(5 - this.#headLength, chunk.length - off);
        this.#head.set(chunk.subarray(off, off + take), this.#headLength);
        this.#headLength += take;
        off += take;
        if (this.#headLength < 5) break;
        if (this.#head[0] !== 0) {
          throw new GrpcFramingError(
            "a compressed message arrived, but no compression was offered",
          );
        }
        const length = new DataView(this.#head.buffer).getUint32(1);
        if (length > this.maxMessageBytes) {
          throw new GrpcFramingError(
            `a message of ${length} bytes exceeds the limit of ${this.maxMessageBytes}`,
          );
        }
        this.#body = new Uint8Array(length);
        this.#bodyLength = 0;
      }
      const take = Math.min(
        this.#body.length - this.#bodyLength,
        chunk.length - off,
      );
      this.#body.set(chunk.subarray(off, off + take), this.#bodyLength);
      this.#bodyLength += take;
      off += take;
      if (this.#bodyLength === this.#body.length) {
        done.push(this.#body);
        this.#body = undefined;
        this.#headLength = 0;
      }
    }
    return done;
  }

  /** Whether a message was started and not finished. */
  get partial(): boolean {
    return this.#headLength > 0;
  }
}
