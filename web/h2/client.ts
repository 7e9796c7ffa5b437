/**
 * The client side of one HTTP/2 connection (RFC 9113): preface and
 * settings, streams opened by the client, flow control both ways, HPACK,
 * PING keepalive and GOAWAY. Enough for gRPC calls; no server push, no
 * priorities. The frame checks both ends share live in `core.ts`.
 *
 * @module
 */
import {
  CLIENT_PREFACE,
  encodeFrame,
  ErrorCode,
  Flag,
  type Frame,
  FrameType,
  goawayFrame,
  rstStreamFrame,
  windowUpdateFrame,
} from "./frame.ts";
import { type ByteStream, connectTls, writeAll } from "./byte_stream.ts";
import {
  connectionFailure,
  type GoAway,
  H2Core,
  type HeaderBlock,
  openingFrames,
} from "./core.ts";
import type { HeaderField } from "./hpack.ts";
import { authority, type H2Target } from "./target.ts";

/** How to connect, on top of the {@linkcode H2Target}. */
export interface H2ClientOptions {
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
  readonly #core: H2Core<ClientStream>;
  readonly #streamWindow: number;
  #nextId = 1;
  #connCredit = 0;
  #writing: Promise<void> = Promise.resolve();
  #windowWaiters: (() => void)[] = [];
  #goaway: GoAway | undefined;
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
    this.#core = new H2Core<ClientStream>({
      send: (...frames) => this.#write(...frames),
      stream: (id) => this.#streams.get(id),
      streams: () => this.#streams.values(),
      // Our own ids from `#nextId` on were never opened.
      isIdle: (id) => id % 2 === 1 && id >= this.#nextId,
      settingsApplied: () => {
        this.#wakeWindowWaiters();
        this.#settled();
      },
      pingAck: () => {
        clearTimeout(this.#pingDeadline);
        this.#pingDeadline = undefined;
      },
      goAway: (g) => this.#onGoaway(g),
      windowOpened: () => this.#wakeWindowWaiters(),
      streamError: (s, code, message) => this.#streamError(s, code, message),
      reset: (id, code) => this.#rstStream(id, code),
      data: (f, body) => this.#data(f, body),
      headers: (block) => this.#headers(block),
    }, { maxHeaderBlock: MAX_HEADER_BLOCK });
  }

  /**
   * Connects (TCP or TLS with ALPN h2), sends the preface and waits for the
   * server's SETTINGS, all within the connect timeout.
   */
  static async connect(
    target: H2Target,
    options: H2ClientOptions = {},
  ): Promise<H2ClientConnection> {
    const where = authority(target);
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
    const connecting: Promise<ByteStream> = target.tls
      ? connectTls({
        hostname: target.host,
        port: target.port,
        alpn: target.alpn ?? "h2",
        ...(target.ca ? { caCerts: [target.ca] } : {}),
      })
      : Deno.connect({ hostname: target.host, port: target.port })
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
      this.#nextId < 0x7fff_ffff &&
      this.#streams.size < this.#core.peerMaxStreams;
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
      this.#core.peerInitialWindow,
    );
    this.#streams.set(id, stream);
    this.#armPing();
    this.#write(...this.#core.headerFrames(id, headers, false));
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
      ...openingFrames({
        initialWindowSize: this.#streamWindow,
        maxHeaderListSize: MAX_HEADER_BLOCK,
        connectionWindow: CONNECTION_WINDOW,
      }),
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
        this.#core.receive(buf.subarray(0, n), () => true);
        if (this.#failure) return;
      }
    } catch (err) {
      if (this.#failure) return;
      const failure = connectionFailure(err);
      if (failure) {
        const { code, message } = failure;
        this.#write(goawayFrame(0, code, message));
        this.#fail(
          new H2ClientError(`HTTP/2 protocol error: ${message}`, code, false),
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

  #onGoaway(g: GoAway): void {
    this.#goaway = g;
    const { lastStreamId, code, debug } = g;
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

  #headers(block: HeaderBlock): void {
    const s = this.#streams.get(block.streamId);
    if (!s) return;
    s.push({ kind: "headers", fields: block.fields, end: block.endStream });
    if (block.endStream) this.#finish(s);
  }

  #data(f: Frame, body: Uint8Array): void {
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
    const bytes = body.slice();
    // Padding is given back at once; the content when it is read.
    const padding = f.payload.length - bytes.length;
    if (padding > 0) this.consumed(s, padding);
    const end = (f.flags & Flag.END_STREAM) !== 0;
    s.push({ kind: "data", bytes, end });
    if (end) this.#finish(s);
  }

  #rstStream(id: number, code: number): void {
    const s = this.#streams.get(id);
    if (!s) return;
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
        Math.min(this.#core.sendWindow, stream.sendWindow) <= 0 &&
        body.length > 0
      ) {
        await new Promise<void>((r) => this.#windowWaiters.push(r));
      }
      if (this.#failure) throw this.#failure;
      if (stream.done && !this.#streams.has(stream.id)) return;
      const take = Math.min(
        body.length - off,
        this.#core.sendWindow,
        stream.sendWindow,
        this.#core.peerMaxFrame,
      );
      this.#core.sendWindow -= take;
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
