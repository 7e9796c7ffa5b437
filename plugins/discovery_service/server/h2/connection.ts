/**
 * One server-side HTTP/2 connection over a byte stream: preface, settings,
 * flow control in both directions, HPACK, stream lifecycle, and the limits
 * that keep a hostile client from costing more than its own connection
 * (header block size, concurrent streams, reset and ping floods, idle and
 * handshake timeouts).
 *
 * @module
 */
import { concatBytes } from "../../../../core/encoding/bytes.ts";
import type { ByteStream } from "../../h2/byte_stream.ts";
import {
  CLIENT_PREFACE,
  ConnectionError,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  type Frame,
  FRAME_HEADER_SIZE,
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
  writeFrameHeader,
} from "../../h2/frame.ts";
import { encodeHeaders, HpackDecoder, HpackError } from "../../h2/hpack.ts";
import { type H2Request, ServerStream, type StreamOwner } from "./stream.ts";

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

  readonly #reader = new FrameReader(DEFAULT_MAX_FRAME_SIZE);
  readonly #hpack = new HpackDecoder(4096);
  readonly #streams = new Map<number, ServerStream>();
  readonly #ready = new Set<ServerStream>();
  #lastStreamId = 0;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  #sendWindow = DEFAULT_WINDOW;
  #gotSettings = false;
  #pendingHeaders:
    | {
      streamId: number;
      endStream: boolean;
      parts: Uint8Array[];
      size: number;
    }
    | undefined;

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
    this.#send(
      settingsFrame([
        [Setting.MAX_CONCURRENT_STREAMS, this.#maxStreams],
        [Setting.INITIAL_WINDOW_SIZE, RECEIVE_WINDOW],
        [Setting.MAX_HEADER_LIST_SIZE, this.#maxHeaderList],
        [Setting.ENABLE_PUSH, 0],
      ]),
    );
    this.#send(windowUpdateFrame(0, RECEIVE_WINDOW - DEFAULT_WINDOW));
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
        this.#reader.release();
      }
    } catch (err) {
      if (err instanceof ConnectionError) {
        this.#fail(err.code, err.message);
      } else if (err instanceof HpackError) {
        this.#fail(ErrorCode.COMPRESSION_ERROR, err.message);
      }
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
    this.#reader.push(bytes);
    let frame: Frame | undefined;
    while (!this.#closed && (frame = this.#reader.next()) !== undefined) {
      this.#frame(frame);
    }
  }

  #frame(f: Frame): void {
    if (!this.#gotSettings && f.type !== FrameType.SETTINGS) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        "the first frame must be SETTINGS",
      );
    }
    if (this.#pendingHeaders && f.type !== FrameType.CONTINUATION) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        "expected CONTINUATION",
      );
    }
    switch (f.type) {
      case FrameType.DATA:
        return this.#data(f);
      case FrameType.HEADERS:
        return this.#headers(f);
      case FrameType.CONTINUATION:
        return this.#continuation(f);
      case FrameType.PRIORITY:
        if (f.streamId === 0) {
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PRIORITY on 0");
        }
        if (f.payload.length !== 5) {
          throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PRIORITY");
        }
        return;
      case FrameType.RST_STREAM:
        return this.#rst(f);
      case FrameType.SETTINGS:
        return this.#settings(f);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE");
      case FrameType.PING:
        return this.#ping(f);
      case FrameType.GOAWAY:
        if (f.streamId !== 0) {
          throw new ConnectionError(
            ErrorCode.PROTOCOL_ERROR,
            "GOAWAY on a stream",
          );
        }
        this.#goingAway = true;
        if (this.#streams.size === 0) this.#closeAfterFlush();
        return;
      case FrameType.WINDOW_UPDATE:
        return this.#windowUpdate(f);
      default:
        return; // Unknown frame types are ignored (§4.1).
    }
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

  #settings(f: Frame): void {
    const settings = readSettings(f);
    if (!settings) return;
    this.#controlFrame();
    for (const [id, value] of settings) {
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) {
          throw new ConnectionError(
            ErrorCode.FLOW_CONTROL_ERROR,
            "INITIAL_WINDOW_SIZE too large",
          );
        }
        const delta = value - this.#peerInitialWindow;
        this.#peerInitialWindow = value;
        for (const s of this.#streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) {
            throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "window");
          }
        }
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xff_ffff) {
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "MAX_FRAME_SIZE");
        }
        this.#peerMaxFrame = value;
      } else if (id === Setting.ENABLE_PUSH && value > 1) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "ENABLE_PUSH");
      }
    }
    this.#send(settingsFrame([], true));
    if (!this.#gotSettings) {
      this.#gotSettings = true;
      this.#arm(this.#idleMs);
    }
    this.#pump();
  }

  #ping(f: Frame): void {
    if (f.streamId !== 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
    }
    if (f.payload.length !== 8) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PING length");
    }
    if (f.flags & Flag.ACK) return;
    this.#controlFrame();
    const reply = new Uint8Array(FRAME_HEADER_SIZE + 8);
    writeFrameHeader(reply, 0, 8, FrameType.PING, Flag.ACK, 0);
    reply.set(f.payload, FRAME_HEADER_SIZE);
    this.#send(reply);
  }

  #windowUpdate(f: Frame): void {
    const inc = windowIncrement(f);
    if (f.streamId === 0) {
      if (inc === 0) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "zero increment");
      }
      this.#sendWindow += inc;
      if (this.#sendWindow > MAX_WINDOW) {
        throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "window");
      }
      this.#pump();
      return;
    }
    if (f.streamId > this.#lastStreamId) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        "WINDOW_UPDATE on an idle stream",
      );
    }
    const s = this.#streams.get(f.streamId);
    if (!s) return;
    if (inc === 0) return this.reset(s, ErrorCode.PROTOCOL_ERROR);
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) {
      return this.reset(s, ErrorCode.FLOW_CONTROL_ERROR);
    }
    if (s.queue.length > 0) this.wake(s);
  }

  #rst(f: Frame): void {
    if (f.streamId === 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on 0");
    }
    if (f.payload.length !== 4) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM");
    }
    if (f.streamId > this.#lastStreamId) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        "RST_STREAM on an idle stream",
      );
    }
    this.#controlFrame();
    if (++this.#resets > MAX_RESETS_PER_WINDOW) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "reset flood");
    }
    const s = this.#streams.get(f.streamId);
    if (s) this.#drop(s, "reset by the client");
  }

  #data(f: Frame): void {
    if (f.streamId === 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    }
    if (f.streamId > this.#lastStreamId) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        "DATA on an idle stream",
      );
    }
    const body = unpaddedPayload(f, false);
    // Flow control counts the whole payload, padding included.
    if (f.payload.length > 0) {
      this.#send(windowUpdateFrame(0, f.payload.length));
    }
    if (f.payload.length === 0 && !(f.flags & Flag.END_STREAM)) {
      this.#controlFrame(); // empty DATA frames cost us and carry nothing
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

  #headers(f: Frame): void {
    if (f.streamId === 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on 0");
    }
    const block = unpaddedPayload(f, true);
    this.#pendingHeaders = {
      streamId: f.streamId,
      endStream: (f.flags & Flag.END_STREAM) !== 0,
      parts: [block.slice()],
      size: block.length,
    };
    if (f.flags & Flag.END_HEADERS) this.#headerBlockDone();
  }

  #continuation(f: Frame): void {
    const p = this.#pendingHeaders;
    if (!p || p.streamId !== f.streamId) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        "CONTINUATION without HEADERS",
      );
    }
    p.size += f.payload.length;
    if (p.size > MAX_HEADER_BLOCK) {
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        "header block too large",
      );
    }
    p.parts.push(f.payload.slice());
    if (f.flags & Flag.END_HEADERS) this.#headerBlockDone();
  }

  #headerBlockDone(): void {
    const p = this.#pendingHeaders!;
    this.#pendingHeaders = undefined;
    const block = p.parts.length === 1 ? p.parts[0]! : concatBytes(p.parts);
    // Always decode: the HPACK table must stay in step even for refused streams.
    const { fields, tooLarge } = this.#hpack.decode(block, this.#maxHeaderList);
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
      this.#peerInitialWindow,
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
        for (
          const frame of headersFrames(
            s.id,
            encodeHeaders(item.fields),
            item.endStream,
            this.#peerMaxFrame,
          )
        ) this.#send(frame);
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
          for (
            const frame of headersFrames(
              s.id,
              encodeHeaders(item.trailers),
              true,
              this.#peerMaxFrame,
            )
          ) this.#send(frame);
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
        this.#sendWindow,
        this.#peerMaxFrame,
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
      this.#sendWindow -= room;
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
      if (!this.#gotSettings) this.#shutdown("handshake timeout");
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
