/**
 * The client side of one HTTP/2 connection (RFC 9113): preface and
 * settings, streams opened by the client, flow control both ways, HPACK,
 * PING keepalive and GOAWAY. Enough for gRPC calls to a discovery service;
 * no server push, no priorities.
 *
 * @module
 */
import {
  CLIENT_PREFACE,
  ConnectionError,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  encodeFrame,
  ErrorCode,
  Flag,
  type Frame,
  FrameReader,
  FrameType,
  goawayFrame,
  headersFrames,
  MAX_WINDOW,
  readSettings,
  rstStreamFrame,
  Setting,
  settingsFrame,
  unpaddedPayload,
  windowIncrement,
  windowUpdateFrame,
} from "./frame.ts";
import { concatBytes } from "../../../core/encoding/bytes.ts";
import { type ByteStream, connectTls, writeAll } from "./byte_stream.ts";
import {
  encodeHeaders,
  type HeaderField,
  HpackDecoder,
  HpackError,
} from "./hpack.ts";

/** Where and how to connect. */
export interface H2ClientOptions {
  hostname: string;
  port: number;
  tls: boolean;
  /** Extra PEM CA certificates for TLS. */
  caCerts?: string[];
  /** Receive window per stream. @default 4 MiB */
  streamWindow?: number;
  /** PING this often while streams are open. @default 5 min */
  pingIntervalMs?: number;
  /** A PING not answered in this time fails the connection. @default 20 s */
  pingTimeoutMs?: number;
  /** Preface, settings and TLS must complete in this time. @default 10 s */
  connectTimeoutMs?: number;
}

/**
 * A stream or connection failure. `retryable` is set when the server never
 * processed the request (refused, or above a GOAWAY's last stream id).
 */
export class H2ClientError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** What a stream delivers, in order: headers, data, then trailers. */
export type StreamEvent =
  | { kind: "headers"; fields: HeaderField[]; end: boolean }
  | { kind: "data"; bytes: Uint8Array; end: boolean };

const CONNECTION_WINDOW = 16 * 1024 * 1024;
const MAX_HEADER_BLOCK = 256 * 1024;

/** One stream opened by the client. Read it with {@linkcode read}. */
export class ClientStream {
  readonly #events: StreamEvent[] = [];
  #wake: (() => void) | undefined;
  #error: H2ClientError | undefined;
  #ended = false;
  #delivered = false;
  /** Bytes the peer may still send us / we may still send. */
  recvWindow: number;
  sendWindow: number;
  /** Received bytes handed to the reader and not yet given back as window. */
  credit = 0;

  constructor(
    readonly id: number,
    readonly connection: H2ClientConnection,
    recvWindow: number,
    sendWindow: number,
  ) {
    this.recvWindow = recvWindow;
    this.sendWindow = sendWindow;
  }

  /** The next event; undefined once the stream ended. Throws on a reset. */
  async read(): Promise<StreamEvent | undefined> {
    for (;;) {
      const e = this.#events.shift();
      if (e) {
        if (e.kind === "data") this.connection.consumed(this, e.bytes.length);
        return e;
      }
      if (this.#error) throw this.#error;
      if (this.#ended) return undefined;
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
  }

  /** Cancels the stream (RST_STREAM CANCEL). */
  cancel(): void {
    this.connection.reset(this, ErrorCode.CANCEL);
  }

  get done(): boolean {
    return this.#ended || this.#error !== undefined;
  }

  /** @internal */
  push(e: StreamEvent): void {
    if (this.done) return;
    this.#events.push(e);
    if (e.end) this.#ended = true;
    this.#delivered = true;
    this.#wake?.();
  }

  /** @internal */
  fail(err: H2ClientError): void {
    if (this.done) return;
    this.#error = err;
    this.#wake?.();
  }

  /** Whether the server sent anything on this stream. */
  get answered(): boolean {
    return this.#delivered;
  }
}

function closeQuietly(conn: ByteStream): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One HTTP/2 connection to a server; open it with {@linkcode connect}. */
export class H2ClientConnection {
  readonly #conn: ByteStream;
  readonly #options: H2ClientOptions;
  readonly #streams = new Map<number, ClientStream>();
  readonly #decoder = new HpackDecoder(4096);
  readonly #reader = new FrameReader(DEFAULT_MAX_FRAME_SIZE);
  readonly #streamWindow: number;
  #nextId = 1;
  #sendWindow = DEFAULT_WINDOW;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  #peerMaxStreams = Infinity;
  #connCredit = 0;
  #writing: Promise<void> = Promise.resolve();
  #windowWaiters: (() => void)[] = [];
  #headerBlock:
    | { streamId: number; end: boolean; parts: Uint8Array[] }
    | undefined;
  #goaway: { lastStreamId: number; code: number } | undefined;
  #draining = false;
  #failure: H2ClientError | undefined;
  #settled!: (err?: H2ClientError) => void;
  readonly #ready: Promise<void>;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #pingDeadline: ReturnType<typeof setTimeout> | undefined;
  #closedResolve!: () => void;
  /** Resolves once the connection is gone. */
  readonly closed: Promise<void>;

  private constructor(conn: ByteStream, options: H2ClientOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#streamWindow = options.streamWindow ?? 4 * 1024 * 1024;
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#settled = (err) => (err ? reject(err) : resolve());
    });
    this.#ready.catch(() => {});
    this.closed = new Promise((r) => (this.#closedResolve = r));
  }

  /**
   * Connects (TCP or TLS with ALPN h2), sends the preface and waits for the
   * server's SETTINGS, all within the connect timeout.
   */
  static async connect(options: H2ClientOptions): Promise<H2ClientConnection> {
    const where = `${options.hostname}:${options.port}`;
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new H2ClientError(
              `${where}: no HTTP/2 session within ${timeoutMs} ms`,
              undefined,
              true,
            ),
          ),
        timeoutMs,
      );
    });
    deadline.catch(() => {});
    const connecting: Promise<ByteStream> = options.tls
      ? connectTls({
        hostname: options.hostname,
        port: options.port,
        alpn: "h2",
        ...(options.caCerts ? { caCerts: options.caCerts } : {}),
      })
      : Deno.connect({ hostname: options.hostname, port: options.port })
        .then((tcp) => {
          tcp.setNoDelay(true);
          return tcp;
        });
    let conn: ByteStream | undefined;
    try {
      conn = await Promise.race([connecting, deadline]);
      const c = new H2ClientConnection(conn, options);
      c.#start();
      await Promise.race([c.#ready, deadline]);
      return c;
    } catch (err) {
      // A connect that completes after the deadline is closed at once.
      if (!conn) connecting.then((late) => closeQuietly(late), () => {});
      if (conn) closeQuietly(conn);
      if (err instanceof H2ClientError) throw err;
      throw new H2ClientError(`${where}: ${describe(err)}`, undefined, true);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether new streams can be opened here. */
  get usable(): boolean {
    return this.#failure === undefined && this.#goaway === undefined &&
      !this.#draining &&
      this.#nextId < 0x7fff_ffff && this.#streams.size < this.#peerMaxStreams;
  }

  /**
   * Opens a stream: sends `headers` and then `body` (ending the stream
   * when `endStream`), waiting for send window as needed.
   */
  request(
    headers: readonly HeaderField[],
    body: Uint8Array,
  ): ClientStream {
    if (!this.usable) {
      throw this.#failure ?? new H2ClientError(
        "the connection takes no new streams",
        undefined,
        true,
      );
    }
    const id = this.#nextId;
    this.#nextId += 2;
    const stream = new ClientStream(
      id,
      this,
      this.#streamWindow,
      this.#peerInitialWindow,
    );
    this.#streams.set(id, stream);
    this.#armPing();
    const block = encodeHeaders(headers);
    this.#write(...headersFrames(id, block, false, this.#peerMaxFrame));
    void this.#sendBody(stream, body).catch((err) =>
      stream.fail(
        err instanceof H2ClientError
          ? err
          : new H2ClientError(describe(err), undefined, false),
      )
    );
    return stream;
  }

  /** Gives `n` consumed bytes of `stream` back to the server as window. */
  consumed(stream: ClientStream, n: number): void {
    stream.credit += n;
    if (
      !stream.done && this.#streams.has(stream.id) &&
      stream.credit >= this.#streamWindow / 2
    ) {
      stream.recvWindow += stream.credit;
      this.#write(windowUpdateFrame(stream.id, stream.credit));
      stream.credit = 0;
    }
  }

  /** Resets a stream with `code` and forgets it. */
  reset(stream: ClientStream, code: number): void {
    if (!this.#streams.delete(stream.id)) return;
    if (!stream.done) {
      stream.fail(new H2ClientError("stream cancelled", code, false));
    }
    if (this.#failure === undefined) {
      this.#write(rstStreamFrame(stream.id, code));
    }
    this.#maybeFinish();
  }

  /** Takes no new streams and closes once the open ones are done. */
  drain(): void {
    this.#draining = true;
    this.#maybeFinish();
  }

  /** Sends GOAWAY and closes; open streams fail. */
  close(): void {
    if (this.#failure) return;
    this.#write(goawayFrame(0, ErrorCode.NO_ERROR));
    this.#fail(new H2ClientError("connection closed", undefined, true), true);
  }

  #start(): void {
    this.#write(
      CLIENT_PREFACE,
      settingsFrame([
        [Setting.ENABLE_PUSH, 0],
        [Setting.INITIAL_WINDOW_SIZE, this.#streamWindow],
        [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_BLOCK],
      ]),
      windowUpdateFrame(0, CONNECTION_WINDOW - DEFAULT_WINDOW),
    );
    void this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) {
          throw new H2ClientError(
            "the server closed the connection",
            undefined,
            true,
          );
        }
        this.#reader.push(buf.subarray(0, n));
        for (let f; (f = this.#reader.next()) !== undefined;) this.#frame(f);
        if (this.#failure) return;
      }
    } catch (err) {
      if (this.#failure) return;
      if (err instanceof ConnectionError || err instanceof HpackError) {
        const code = err instanceof ConnectionError
          ? err.code
          : ErrorCode.COMPRESSION_ERROR;
        this.#write(goawayFrame(0, code, err.message));
        this.#fail(
          new H2ClientError(
            `HTTP/2 protocol error: ${err.message}`,
            code,
            false,
          ),
          true,
        );
      } else {
        this.#fail(
          err instanceof H2ClientError
            ? err
            : new H2ClientError(describe(err), undefined, false),
        );
      }
    }
  }

  #frame(f: Frame): void {
    if (this.#headerBlock && f.type !== FrameType.CONTINUATION) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        "expected CONTINUATION",
      );
    }
    switch (f.type) {
      case FrameType.SETTINGS:
        return this.#settings(f);
      case FrameType.PING:
        return this.#ping(f);
      case FrameType.GOAWAY:
        return this.#onGoaway(f);
      case FrameType.WINDOW_UPDATE:
        return this.#windowUpdate(f);
      case FrameType.HEADERS:
      case FrameType.CONTINUATION:
        return this.#headers(f);
      case FrameType.DATA:
        return this.#data(f);
      case FrameType.RST_STREAM:
        return this.#rstStream(f);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(
          ErrorCode.PROTOCOL_ERROR,
          "PUSH_PROMISE although push is disabled",
        );
      default:
        return; // PRIORITY and unknown types are ignored
    }
  }

  #settings(f: Frame): void {
    const settings = readSettings(f);
    if (!settings) return;
    for (const [id, value] of settings) {
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) {
          throw new ConnectionError(
            ErrorCode.FLOW_CONTROL_ERROR,
            "initial window too large",
          );
        }
        const delta = value - this.#peerInitialWindow;
        this.#peerInitialWindow = value;
        for (const s of this.#streams.values()) s.sendWindow += delta;
        this.#wakeWindowWaiters();
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xff_ffff) {
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "MAX_FRAME_SIZE");
        }
        this.#peerMaxFrame = value;
      } else if (id === Setting.MAX_CONCURRENT_STREAMS) {
        this.#peerMaxStreams = value;
      }
    }
    this.#write(settingsFrame([], true));
    this.#settled();
  }

  #ping(f: Frame): void {
    if (f.streamId !== 0 || f.payload.length !== 8) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "malformed PING");
    }
    if (f.flags & Flag.ACK) {
      clearTimeout(this.#pingDeadline);
      this.#pingDeadline = undefined;
      return;
    }
    this.#write(encodeFrame(FrameType.PING, Flag.ACK, 0, f.payload.slice()));
  }

  #onGoaway(f: Frame): void {
    if (f.payload.length < 8) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY length");
    }
    const view = new DataView(f.payload.buffer, f.payload.byteOffset, 8);
    const lastStreamId = view.getUint32(0) & 0x7fff_ffff;
    const code = view.getUint32(4);
    this.#goaway = { lastStreamId, code };
    const debug = new TextDecoder().decode(f.payload.subarray(8));
    for (const [id, s] of this.#streams) {
      if (id <= lastStreamId) continue;
      this.#streams.delete(id);
      s.fail(
        new H2ClientError(
          `the server is going away (${code}${debug ? `: ${debug}` : ""})`,
          code,
          true,
        ),
      );
    }
    this.#maybeFinish();
  }

  #windowUpdate(f: Frame): void {
    const inc = windowIncrement(f);
    if (f.streamId === 0) {
      if (inc === 0 || this.#sendWindow + inc > MAX_WINDOW) {
        throw new ConnectionError(
          ErrorCode.FLOW_CONTROL_ERROR,
          "bad connection WINDOW_UPDATE",
        );
      }
      this.#sendWindow += inc;
    } else {
      const s = this.#streams.get(f.streamId);
      if (!s) return;
      if (inc === 0 || s.sendWindow + inc > MAX_WINDOW) {
        this.#streamError(s, ErrorCode.FLOW_CONTROL_ERROR, "bad WINDOW_UPDATE");
        return;
      }
      s.sendWindow += inc;
    }
    this.#wakeWindowWaiters();
  }

  #headers(f: Frame): void {
    if (f.type === FrameType.CONTINUATION) {
      const b = this.#headerBlock;
      if (!b || b.streamId !== f.streamId) {
        throw new ConnectionError(
          ErrorCode.PROTOCOL_ERROR,
          "unexpected CONTINUATION",
        );
      }
      b.parts.push(f.payload.slice());
    } else {
      if (f.streamId === 0) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on 0");
      }
      this.#headerBlock = {
        streamId: f.streamId,
        end: (f.flags & Flag.END_STREAM) !== 0,
        parts: [unpaddedPayload(f, true).slice()],
      };
    }
    const block = this.#headerBlock!;
    const size = block.parts.reduce((n, p) => n + p.length, 0);
    if (size > MAX_HEADER_BLOCK) {
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        "header block too large",
      );
    }
    if (!(f.flags & Flag.END_HEADERS)) return;
    this.#headerBlock = undefined;
    const bytes = concatBytes(block.parts);
    // Decoded even for unknown streams: the table must stay in step.
    const { fields } = this.#decoder.decode(bytes);
    const s = this.#streams.get(block.streamId);
    if (!s) return;
    s.push({ kind: "headers", fields, end: block.end });
    if (block.end) this.#finish(s);
  }

  #data(f: Frame): void {
    if (f.streamId === 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    }
    // Flow control counts the whole payload, padding included.
    this.#connCredit += f.payload.length;
    if (this.#connCredit >= CONNECTION_WINDOW / 2) {
      this.#write(windowUpdateFrame(0, this.#connCredit));
      this.#connCredit = 0;
    }
    const s = this.#streams.get(f.streamId);
    if (!s) return;
    s.recvWindow -= f.payload.length;
    if (s.recvWindow < 0) {
      this.#streamError(s, ErrorCode.FLOW_CONTROL_ERROR, "window exceeded");
      return;
    }
    const bytes = unpaddedPayload(f, false).slice();
    // Padding is given back at once; the content when it is read.
    const padding = f.payload.length - bytes.length;
    if (padding > 0) this.consumed(s, padding);
    const end = (f.flags & Flag.END_STREAM) !== 0;
    s.push({ kind: "data", bytes, end });
    if (end) this.#finish(s);
  }

  #rstStream(f: Frame): void {
    if (f.payload.length !== 4) {
      throw new ConnectionError(
        ErrorCode.FRAME_SIZE_ERROR,
        "RST_STREAM length",
      );
    }
    const s = this.#streams.get(f.streamId);
    if (!s) return;
    const code = new DataView(f.payload.buffer, f.payload.byteOffset, 4)
      .getUint32(0);
    this.#streams.delete(s.id);
    s.fail(
      new H2ClientError(
        `the server reset the stream (code ${code})`,
        code,
        code === ErrorCode.REFUSED_STREAM && !s.answered,
      ),
    );
    this.#maybeFinish();
  }

  #streamError(s: ClientStream, code: number, message: string): void {
    s.fail(new H2ClientError(message, code, false));
    this.reset(s, code);
  }

  /** The server ended the stream (we always end ours first). */
  #finish(s: ClientStream): void {
    this.#streams.delete(s.id);
    this.#maybeFinish();
  }

  /** After a GOAWAY or `drain()`, closes once the last stream is done. */
  #maybeFinish(): void {
    if (this.#streams.size === 0) this.#disarmPing();
    if (
      (this.#goaway || this.#draining) && this.#streams.size === 0 &&
      !this.#failure
    ) {
      this.close();
    }
  }

  async #sendBody(stream: ClientStream, body: Uint8Array): Promise<void> {
    let off = 0;
    do {
      while (
        this.#failure === undefined && !stream.done &&
        Math.min(this.#sendWindow, stream.sendWindow) <= 0 &&
        body.length > 0
      ) {
        await new Promise<void>((r) => this.#windowWaiters.push(r));
      }
      if (this.#failure) throw this.#failure;
      if (stream.done && !this.#streams.has(stream.id)) return;
      const take = Math.min(
        body.length - off,
        this.#sendWindow,
        stream.sendWindow,
        this.#peerMaxFrame,
      );
      this.#sendWindow -= take;
      stream.sendWindow -= take;
      off += take;
      this.#write(
        encodeFrame(
          FrameType.DATA,
          off >= body.length ? Flag.END_STREAM : 0,
          stream.id,
          body.subarray(off - take, off),
        ),
      );
    } while (off < body.length);
  }

  #wakeWindowWaiters(): void {
    const waiters = this.#windowWaiters;
    this.#windowWaiters = [];
    for (const w of waiters) w();
  }

  #armPing(): void {
    if (this.#pingTimer !== undefined) return;
    this.#pingTimer = setInterval(() => {
      if (this.#pingDeadline !== undefined || this.#failure) return;
      this.#write(encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8)));
      const timeoutMs = this.#options.pingTimeoutMs ?? 20_000;
      this.#pingDeadline = setTimeout(
        () =>
          this.#fail(
            new H2ClientError(
              `no PING answer within ${timeoutMs} ms: the connection is dead`,
              undefined,
              true,
            ),
          ),
        timeoutMs,
      );
    }, this.#options.pingIntervalMs ?? 5 * 60_000);
  }

  #disarmPing(): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pingDeadline);
    this.#pingTimer = this.#pingDeadline = undefined;
  }

  #write(...frames: Uint8Array[]): void {
    if (this.#failure) return;
    this.#writing = this.#writing.then(async () => {
      for (const f of frames) await writeAll(this.#conn, f);
    }).catch((err) => {
      this.#fail(
        new H2ClientError(`write failed: ${describe(err)}`, undefined, true),
      );
    });
  }

  /** Fails every stream; `flush` lets queued frames (a GOAWAY) go first. */
  #fail(err: H2ClientError, flush = false): void {
    if (this.#failure) return;
    const writes = this.#writing;
    this.#failure = err;
    this.#settled(err);
    this.#disarmPing();
    for (const s of this.#streams.values()) s.fail(err);
    this.#streams.clear();
    this.#wakeWindowWaiters();
    if (flush) void writes.finally(() => this.#closeSocket());
    else this.#closeSocket();
  }

  #closeSocket(): void {
    closeQuietly(this.#conn);
    this.#closedResolve();
  }
}
