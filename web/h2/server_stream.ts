/**
 * One server-side HTTP/2 stream: the request as received, and a queue of
 * what to send (headers, data, trailers) that the connection drains in order
 * as flow control allows.
 *
 * @module
 */
import { concatBytes } from "../../core/encoding/bytes.ts";
import type { HeaderField } from "./hpack.ts";

/** The request half of a stream. */
export interface H2Request {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  /** Regular header fields, lower case; repeated ones joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
  /** The socket peer's IP address. */
  readonly remoteAddress: string;
}

/** The request body was larger than the handler allowed. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body is larger than ${limit} bytes`);
  }
}

/** An item waiting to be framed. */
export type Outgoing =
  | { kind: "headers"; fields: HeaderField[]; endStream: boolean }
  | {
    kind: "data";
    bytes: Uint8Array;
    offset: number;
    done?: (() => void) | undefined;
    /** The same bytes go to many streams (framed once per stream id). */
    shared?: boolean;
  }
  | { kind: "end"; trailers: HeaderField[] | undefined };

/** The connection side of a stream, used by the stream's methods. */
export interface StreamOwner {
  /** Something was queued on this stream. */
  wake(stream: ServerStream): void;
  /** The stream aborted from this side: send RST_STREAM. */
  reset(stream: ServerStream, code: number): void;
}

/** What a handler gets for each request. */
export class ServerStream {
  readonly queue: Outgoing[] = [];
  /** Bytes the peer lets this stream send (may go negative, §6.9.2). */
  sendWindow: number;
  remoteClosed = false;
  localClosed = false;
  /** Everything was queued and the final frame has been framed. */
  finished = false;
  /** Body bytes queued and not yet framed. */
  queuedBytes = 0;

  readonly #owner: StreamOwner;
  readonly #abort = new AbortController();
  #body: Uint8Array[] = [];
  #bodySize = 0;
  #bodyLimit = 64 * 1024;
  #tooLarge = false;
  #bodyWaiters: Array<[(b: Uint8Array) => void, (e: unknown) => void]> = [];

  constructor(
    readonly id: number,
    readonly request: H2Request,
    owner: StreamOwner,
    initialWindow: number,
  ) {
    this.#owner = owner;
    this.sendWindow = initialWindow;
  }

  /** Aborted when the peer resets the stream or the connection goes. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Resolves with the whole request body once the peer ended the stream. */
  body(limit = 64 * 1024): Promise<Uint8Array> {
    this.#bodyLimit = limit;
    if (this.#bodySize > limit) this.#tooLarge = true;
    return new Promise((resolve, reject) => {
      this.#bodyWaiters.push([resolve, reject]);
      this.#settleBody();
    });
  }

  /** Queues response headers (`:status` first). */
  respond(fields: HeaderField[], endStream = false): void {
    if (this.localClosed) return;
    this.queue.push({ kind: "headers", fields, endStream });
    if (endStream) this.localClosed = true;
    this.#owner.wake(this);
  }

  /**
   * Queues body bytes (not copied: keep them unchanged). Resolves once they
   * have been framed for the socket, so a writer that awaits each write
   * holds at most one message in memory; resolves at once if the stream
   * is gone.
   */
  write(bytes: Uint8Array): Promise<void> {
    if (this.localClosed || this.signal.aborted || bytes.length === 0) {
      return Promise.resolve();
    }
    return new Promise((done) => this.#queueData(bytes, done));
  }

  /**
   * Queues body bytes without waiting (not copied). For writers that bound
   * their own backlog with {@linkcode queuedBytes}.
   */
  enqueue(bytes: Uint8Array, shared = false): void {
    if (this.localClosed || this.signal.aborted || bytes.length === 0) return;
    this.#queueData(bytes, undefined, shared);
  }

  #queueData(
    bytes: Uint8Array,
    done: (() => void) | undefined,
    shared = false,
  ): void {
    this.queue.push({ kind: "data", bytes, offset: 0, done, shared });
    this.queuedBytes += bytes.length;
    this.#owner.wake(this);
  }

  /** Ends the response, with trailers or an empty END_STREAM frame. */
  end(trailers?: HeaderField[]): void {
    if (this.localClosed) return;
    this.localClosed = true;
    this.queue.push({ kind: "end", trailers });
    this.#owner.wake(this);
  }

  /** Abandons the stream with RST_STREAM `code`. */
  reset(code: number): void {
    if (this.#abort.signal.aborted) return;
    this.#owner.reset(this, code);
  }

  /** Connection side: request body bytes arrived. */
  receive(bytes: Uint8Array): void {
    if (this.#tooLarge) return;
    this.#bodySize += bytes.length;
    if (this.#bodySize > this.#bodyLimit) {
      this.#tooLarge = true;
      this.#body = [];
    } else {
      this.#body.push(bytes.slice());
    }
    this.#settleBody();
  }

  /** Connection side: the peer sent END_STREAM. */
  endOfRequest(): void {
    this.remoteClosed = true;
    this.#settleBody();
  }

  /** Connection side: the stream is gone. */
  abort(reason: string): void {
    if (this.#abort.signal.aborted) return;
    this.#abort.abort(new Error(reason));
    for (const item of this.queue) if (item.kind === "data") item.done?.();
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.#settleBody();
  }

  #settleBody(): void {
    if (this.#bodyWaiters.length === 0) return;
    let outcome: { ok: Uint8Array } | { err: unknown } | undefined;
    if (this.#tooLarge) {
      outcome = { err: new BodyTooLargeError(this.#bodyLimit) };
    } else if (this.signal.aborted) outcome = { err: this.signal.reason };
    else if (this.remoteClosed) {
      outcome = { ok: concatBytes(this.#body) };
    }
    if (!outcome) return;
    const waiters = this.#bodyWaiters;
    this.#bodyWaiters = [];
    for (const [resolve, reject] of waiters) {
      if ("ok" in outcome) resolve(outcome.ok);
      else reject(outcome.err);
    }
  }
}
