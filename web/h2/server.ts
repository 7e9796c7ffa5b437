/**
 * One server-side HTTP/2 connection over a byte stream: preface, stream
 * lifecycle, flow control of what it sends, and the limits
 * that keep a hostile client from costing more than its own connection
 * (header block size, concurrent streams, reset and ping floods, idle and
 * handshake timeouts). The frame checks both ends share (SETTINGS, PING,
 * WINDOW_UPDATE, GOAWAY, HEADERS + CONTINUATION) live in `core.ts`.
 *
 * @module
 */
import { concatBytes } from "../../core/encoding/bytes.ts";
import type { ByteStream } from "./byte_stream.ts";
import {
  CLIENT_PREFACE,
  ConnectionError,
  ErrorCode,
  Flag,
  type Frame,
  FRAME_HEADER_SIZE,
  FrameType,
  goawayFrame,
  rstStreamFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from "./frame.ts";
import {
  connectionFailure,
  H2Core,
  type HeaderBlock,
  openingFrames,
} from "./core.ts";
import {
  type H2Request,
  ServerStream,
  type StreamOwner,
} from "./server_stream.ts";

/** Limits of one connection. */
export interface H2ConnectionOptions {
  /** @default 1000 */
  maxConcurrentStreams?: number;
  /** Decoded header list size (RFC 9113 §6.5.2). @default 16384 */
  maxHeaderListSize?: number;
  /** Close a connection that has had no stream this long. @default 300_000 */
  idleTimeoutMs?: number;
  /** Time allowed for the client preface and first SETTINGS. @default 10_000 */
  handshakeTimeoutMs?: number;
}

const RECEIVE_WINDOW = 1 << 20;
const MAX_HEADER_BLOCK = 64 * 1024;
const OUT_HIGH_WATER = 256 * 1024;
const WRITE_CHUNK = 64 * 1024;
const READ_CHUNK = 4 * 1024;
const FLOOD_WINDOW_MS = 1000;
const MAX_RESETS_PER_WINDOW = 200;
const MAX_CONTROL_PER_WINDOW = 200;

const pool: Uint8Array[] = [];
function takeBuffer(size: number): Uint8Array {
  if (size >= WRITE_CHUNK) return pool.pop() ?? new Uint8Array(WRITE_CHUNK);
  return new Uint8Array(size);
}
function giveBuffer(buf: Uint8Array): void {
  if (buf.length === WRITE_CHUNK && pool.length < 64) pool.push(buf);
}

/**
 * DATA frames of shared messages (one change sent to every watcher), cached
 * per stream id: most watchers sit on the same stream id of their own
 * connection, so they all write the very same bytes.
 */
const sharedFrames = new WeakMap<Uint8Array, Map<number, Uint8Array>>();
function sharedDataFrame(bytes: Uint8Array, streamId: number): Uint8Array {
  let byStream = sharedFrames.get(bytes);
  if (!byStream) sharedFrames.set(bytes, byStream = new Map());
  let frame = byStream.get(streamId);
  if (!frame) {
    frame = new Uint8Array(FRAME_HEADER_SIZE + bytes.length);
    writeFrameHeader(frame, 0, bytes.length, FrameType.DATA, 0, streamId);
    frame.set(bytes, FRAME_HEADER_SIZE);
    if (byStream.size < 64) byStream.set(streamId, frame);
  }
  return frame;
}

function isPrefaceStart(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, CLIENT_PREFACE.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== CLIENT_PREFACE[i]) return false;
  return true;
}

/** True when `head` can still be (or is) the HTTP/2 client preface. */
export function looksLikeH2(head: Uint8Array): boolean {
  return isPrefaceStart(head);
}

const FORBIDDEN_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/** Serves one connection until it closes; never throws. */
export class H2ServerConnection implements StreamOwner {
  readonly #io: ByteStream;
  readonly #remoteAddress: string;
  readonly #onStream: (stream: ServerStream) => void;
  readonly #maxStreams: number;
  readonly #maxHeaderList: number;
  readonly #idleMs: number;
  readonly #handshakeMs: number;

  readonly #core: H2Core<ServerStream>;
  readonly #streams = new Map<number, ServerStream>();
  readonly #ready = new Set<ServerStream>();
  #lastStreamId = 0;

  readonly #out: Uint8Array[] = [];
  #outBytes = 0;
  #flushing = false;
  #closed = false;
  #goingAway = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #floodStart = 0;
  #resets = 0;
  #control = 0;
  #closedResolve!: () => void;
  /** Resolves when the connection is closed. */
  readonly closed: Promise<void>;

  constructor(
    io: ByteStream,
    remoteAddress: string,
    onStream: (stream: ServerStream) => void,
    options: H2ConnectionOptions = {},
  ) {
    this.#io = io;
    this.#remoteAddress = remoteAddress;
    this.#onStream = onStream;
    this.#maxStreams = options.maxConcurrentStreams ?? 1000;
    this.#maxHeaderList = options.maxHeaderListSize ?? 16_384;
    this.#idleMs = options.idleTimeoutMs ?? 300_000;
    this.#handshakeMs = options.handshakeTimeoutMs ?? 10_000;
    this.closed = new Promise((r) => (this.#closedResolve = r));
    this.#core = new H2Core<ServerStream>({
      send: (...frames) => frames.forEach((f) => this.#send(f)),
      stream: (id) => this.#streams.get(id),
      streams: () => this.#streams.values(),
      // Client streams above the last one opened are idle (§5.1).
      isIdle: (id) => id > this.#lastStreamId,
      control: () => this.#controlFrame(),
      settingsApplied: (first) => this.#settingsApplied(first),
      goAway: () => this.#goAway(),
      windowOpened: (s) => this.#windowOpened(s),
      streamError: (s, code) => this.reset(s, code),
      reset: (id) => this.#rst(id),
      data: (f, body) => this.#data(f, body),
      headers: (block) => this.#headers(block),
    }, {
      maxHeaderBlock: MAX_HEADER_BLOCK,
      maxHeaderListSize: this.#maxHeaderList,
    });
  }

  /** Number of open streams. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /**
   * Runs the connection. `initial` holds bytes already read from the socket
   * (the start of the preface, when the caller sniffed the protocol).
   */
  async serve(initial: Uint8Array = new Uint8Array(0)): Promise<void> {
    this.#arm(this.#handshakeMs);
    for (
      const frame of openingFrames({
        maxConcurrentStreams: this.#maxStreams,
        initialWindowSize: RECEIVE_WINDOW,
        maxHeaderListSize: this.#maxHeaderList,
        connectionWindow: RECEIVE_WINDOW,
      })
    ) this.#send(frame);
    try {
      let preface = initial;
      const buf = new Uint8Array(READ_CHUNK);
      while (preface.length < CLIENT_PREFACE.length) {
        if (!isPrefaceStart(preface)) {
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad preface");
        }
        const n = await this.#io.read(buf);
        if (n === null) return;
        preface = concatBytes([preface, buf.subarray(0, n)]);
      }
      if (!isPrefaceStart(preface)) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad preface");
      }
      this.#ingest(preface.subarray(CLIENT_PREFACE.length));
      while (!this.#closed) {
        const n = await this.#io.read(buf);
        if (n === null) break;
        this.#ingest(buf.subarray(0, n));
        this.#core.release();
      }
    } catch (err) {
      const failure = connectionFailure(err);
      if (failure) this.#fail(failure.code, failure.message);
      // Give the GOAWAY a moment to reach the client.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.closed,
        new Promise((r) => (timer = setTimeout(r, 1000))),
      ]);
      clearTimeout(timer);
    } finally {
      this.#shutdown("connection closed");
    }
  }

  /** Stops taking streams and closes once the open ones ended. */
  goAway(): void {
    if (this.#goingAway || this.#closed) return;
    this.#goingAway = true;
    this.#send(goawayFrame(this.#lastStreamId, ErrorCode.NO_ERROR));
    if (this.#streams.size === 0) this.#closeAfterFlush();
  }

  /** Closes now: open streams are aborted. */
  close(): void {
    if (!this.#goingAway && !this.#closed) {
      this.#goingAway = true;
      this.#send(goawayFrame(this.#lastStreamId, ErrorCode.NO_ERROR));
    }
    this.#closeAfterFlush();
  }

  // StreamOwner.
  wake(stream: ServerStream): void {
    if (this.#closed || this.#streams.get(stream.id) !== stream) {
      stream.abort("stream closed");
      return;
    }
    this.#ready.add(stream);
    this.#pump();
  }

  reset(stream: ServerStream, code: number): void {
    if (this.#closed) return;
    this.#send(rstStreamFrame(stream.id, code));
    this.#drop(stream, "reset by the server");
  }

  #ingest(bytes: Uint8Array): void {
    this.#core.receive(bytes, () => !this.#closed);
  }

  #controlFrame(): void {
    const now = performance.now();
    if (now - this.#floodStart > FLOOD_WINDOW_MS) {
      this.#floodStart = now;
      this.#control = 0;
      this.#resets = 0;
    }
    if (++this.#control > MAX_CONTROL_PER_WINDOW) {
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        "too many control frames",
      );
    }
  }

  #settingsApplied(first: boolean): void {
    if (first) this.#arm(this.#idleMs);
    this.#pump();
  }

  #goAway(): void {
    this.#goingAway = true;
    if (this.#streams.size === 0) this.#closeAfterFlush();
  }

  #windowOpened(s: ServerStream | undefined): void {
    if (!s) this.#pump();
    else if (s.queue.length > 0) this.wake(s);
  }

  #rst(id: number): void {
    if (++this.#resets > MAX_RESETS_PER_WINDOW) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "reset flood");
    }
    const s = this.#streams.get(id);
    if (s) this.#drop(s, "reset by the client");
  }

  #data(f: Frame, body: Uint8Array): void {
    // Flow control counts the whole payload, padding included.
    if (f.payload.length > 0) {
      this.#send(windowUpdateFrame(0, f.payload.length));
    }
    const s = this.#streams.get(f.streamId);
    if (!s || s.remoteClosed) {
      this.#send(rstStreamFrame(f.streamId, ErrorCode.STREAM_CLOSED));
      return;
    }
    if (body.length > 0) s.receive(body);
    if (f.flags & Flag.END_STREAM) {
      s.endOfRequest();
      this.#maybeRetire(s);
    } else if (f.payload.length > 0) {
      this.#send(windowUpdateFrame(s.id, f.payload.length));
    }
  }

  #headers(p: HeaderBlock): void {
    const { fields, tooLarge } = p;
    const existing = this.#streams.get(p.streamId);
    if (existing) {
      // Request trailers.
      if (!p.endStream || existing.remoteClosed) {
        return this.reset(existing, ErrorCode.PROTOCOL_ERROR);
      }
      existing.endOfRequest();
      this.#maybeRetire(existing);
      return;
    }
    if (p.streamId % 2 === 0 || p.streamId <= this.#lastStreamId) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        `HEADERS on stream ${p.streamId} after ${this.#lastStreamId}`,
      );
    }
    this.#lastStreamId = p.streamId;
    if (this.#goingAway || this.#streams.size >= this.#maxStreams) {
      this.#send(rstStreamFrame(p.streamId, ErrorCode.REFUSED_STREAM));
      return;
    }
    const request = tooLarge ? undefined : this.#toRequest(fields);
    if (!request) {
      this.#send(rstStreamFrame(p.streamId, ErrorCode.PROTOCOL_ERROR));
      return;
    }
    const stream = new ServerStream(
      p.streamId,
      request,
      this,
      this.#core.peerInitialWindow,
    );
    this.#streams.set(stream.id, stream);
    this.#disarm();
    if (p.endStream) stream.endOfRequest();
    try {
      this.#onStream(stream);
    } catch {
      stream.reset(ErrorCode.INTERNAL_ERROR);
    }
  }

  #toRequest(fields: [string, string][]): H2Request | undefined {
    let method = "";
    let path = "";
    let authority = "";
    let regular = false;
    const headers = new Map<string, string>();
    for (const [name, value] of fields) {
      if (name !== name.toLowerCase()) return undefined;
      if (name.startsWith(":")) {
        if (regular) return undefined;
        if (name === ":method") method = value;
        else if (name === ":path") path = value;
        else if (name === ":authority") authority = value;
        else if (name !== ":scheme") return undefined;
        continue;
      }
      regular = true;
      if (FORBIDDEN_HEADERS.has(name)) return undefined;
      if (name === "te" && value !== "trailers") return undefined;
      const prev = headers.get(name);
      headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
    }
    if (!method || !path) return undefined;
    if (!authority) authority = headers.get("host") ?? "";
    return {
      method,
      path,
      authority,
      headers,
      remoteAddress: this.#remoteAddress,
    };
  }

  /** Frames queued items of ready streams while windows and buffers allow. */
  #pump(): void {
    while (
      !this.#closed && this.#ready.size > 0 && this.#outBytes < OUT_HIGH_WATER
    ) {
      let progressed = false;
      for (const s of this.#ready) {
        if (this.#outBytes >= OUT_HIGH_WATER) break;
        if (this.#drain(s)) progressed = true;
        if (s.queue.length === 0) this.#ready.delete(s);
      }
      if (!progressed) break;
    }
    this.#flush();
  }

  /** Frames what one stream may send now: a data frame per call at most. */
  #drain(s: ServerStream): boolean {
    let progressed = false;
    while (s.queue.length > 0) {
      const item = s.queue[0]!;
      if (item.kind === "headers") {
        s.queue.shift();
        const frames = this.#core.headerFrames(
          s.id,
          item.fields,
          item.endStream,
        );
        for (const frame of frames) this.#send(frame);
        progressed = true;
        if (item.endStream) {
          this.#finish(s);
          return true;
        }
        continue;
      }
      if (item.kind === "end") {
        s.queue.shift();
        if (item.trailers) {
          const frames = this.#core.headerFrames(s.id, item.trailers, true);
          for (const frame of frames) this.#send(frame);
        } else {
          const frame = new Uint8Array(FRAME_HEADER_SIZE);
          writeFrameHeader(frame, 0, 0, FrameType.DATA, Flag.END_STREAM, s.id);
          this.#send(frame);
        }
        this.#finish(s);
        return true;
      }
      const room = Math.min(
        s.sendWindow,
        this.#core.sendWindow,
        this.#core.peerMaxFrame,
        item.bytes.length - item.offset,
      );
      if (room <= 0) return progressed;
      if (item.shared && room === item.bytes.length) {
        this.#send(sharedDataFrame(item.bytes, s.id));
      } else {
        const header = new Uint8Array(FRAME_HEADER_SIZE);
        writeFrameHeader(header, 0, room, FrameType.DATA, 0, s.id);
        this.#send(header);
        this.#send(item.bytes.subarray(item.offset, item.offset + room));
      }
      item.offset += room;
      s.queuedBytes -= room;
      s.sendWindow -= room;
      this.#core.sendWindow -= room;
      if (item.offset === item.bytes.length) {
        s.queue.shift();
        item.done?.();
      }
      return true;
    }
    return progressed;
  }

  #finish(s: ServerStream): void {
    s.finished = true;
    if (!s.remoteClosed) {
      // The answer is complete; the client need not send the rest (§8.1).
      this.#send(rstStreamFrame(s.id, ErrorCode.NO_ERROR));
    }
    this.#drop(s, "finished");
  }

  #maybeRetire(s: ServerStream): void {
    if (s.finished) this.#drop(s, "finished");
  }

  #drop(s: ServerStream, reason: string): void {
    this.#streams.delete(s.id);
    this.#ready.delete(s);
    if (!s.finished) s.abort(reason);
    if (this.#streams.size === 0) {
      if (this.#goingAway) this.#closeAfterFlush();
      else this.#arm(this.#idleMs);
    }
  }

  #send(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#out.push(bytes);
    this.#outBytes += bytes.length;
    this.#flush();
  }

  #flush(): void {
    if (this.#flushing || this.#closed || this.#out.length === 0) return;
    this.#flushing = true;
    queueMicrotask(() => void this.#flushLoop());
  }

  async #flushLoop(): Promise<void> {
    try {
      while (!this.#closed && this.#out.length > 0) {
        if (this.#out.length === 1) {
          // One whole frame (often a shared one): write it without a copy.
          const only = this.#out.shift()!;
          this.#outBytes -= only.length;
          let off = 0;
          while (off < only.length) {
            off += await this.#io.write(only.subarray(off));
          }
          if (this.#outBytes < OUT_HIGH_WATER / 2) this.#pump();
          continue;
        }
        const buf = takeBuffer(Math.min(this.#outBytes, WRITE_CHUNK));
        let used = 0;
        while (this.#out.length > 0 && used < buf.length) {
          const head = this.#out[0]!;
          const take = Math.min(head.length, buf.length - used);
          buf.set(head.subarray(0, take), used);
          used += take;
          if (take === head.length) this.#out.shift();
          else this.#out[0] = head.subarray(take);
        }
        this.#outBytes -= used;
        let off = 0;
        while (off < used) off += await this.#io.write(buf.subarray(off, used));
        giveBuffer(buf);
        if (this.#outBytes < OUT_HIGH_WATER / 2) this.#pump();
      }
    } catch {
      this.#shutdown("write failed");
    } finally {
      this.#flushing = false;
    }
    if (this.#closeWhenFlushed && this.#out.length === 0) {
      this.#shutdown("closed");
    } else if (this.#out.length > 0) this.#flush();
  }

  #closeWhenFlushed = false;
  #closeAfterFlush(): void {
    this.#closeWhenFlushed = true;
    if (!this.#flushing && this.#out.length === 0) this.#shutdown("closed");
  }

  #fail(code: number, message: string): void {
    if (this.#closed) return;
    this.#out.length = 0;
    this.#outBytes = 0;
    this.#send(goawayFrame(this.#lastStreamId, code, message));
    this.#closeAfterFlush();
    // Aborting the streams now keeps a failed connection from doing work.
    for (const s of [...this.#streams.values()]) this.#drop(s, message);
  }

  #arm(ms: number): void {
    this.#disarm();
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#streams.size > 0) return;
      if (!this.#core.gotSettings) this.#shutdown("handshake timeout");
      else this.close();
    }, ms);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #shutdown(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#disarm();
    for (const s of [...this.#streams.values()]) {
      this.#streams.delete(s.id);
      s.abort(reason);
    }
    this.#ready.clear();
    this.#out.length = 0;
    this.#outBytes = 0;
    try {
      this.#io.close();
    } catch {
      // already closed
    }
    this.#closedResolve();
  }
}
