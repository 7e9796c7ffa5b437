/**
 * The part of an HTTP/2 connection (RFC 9113) that is the same for both
 * ends: the peer's SETTINGS, PING, WINDOW_UPDATE, GOAWAY, PRIORITY,
 * RST_STREAM and DATA frame checks, and the assembly of HEADERS +
 * CONTINUATION into one decoded header block. The client and the server
 * connection each own one core and give it a {@linkcode H2CoreRole}: what
 * a frame means for their streams (and how bytes are written) stays theirs.
 *
 * Every protocol violation is thrown as a {@linkcode ConnectionError}; the
 * owner turns it into a GOAWAY with {@linkcode connectionFailure}.
 *
 * @module
 */
import { concatBytes } from "../../core/encoding/bytes.ts";
import {
  ConnectionError,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  type Frame,
  FRAME_HEADER_SIZE,
  FrameReader,
  FrameType,
  headersFrames,
  MAX_WINDOW,
  readSettings,
  Setting,
  settingsFrame,
  unpaddedPayload,
  windowIncrement,
  windowUpdateFrame,
  writeFrameHeader,
} from "./frame.ts";
import {
  encodeHeaders,
  type HeaderField,
  HpackDecoder,
  HpackError,
} from "./hpack.ts";

/** What the core needs of a stream: its id and the window it may send. */
export interface CoreStream {
  readonly id: number;
  /** Bytes this end may still send on the stream. */
  sendWindow: number;
}

/** A complete, decoded header block (HEADERS plus any CONTINUATION). */
export interface HeaderBlock {
  streamId: number;
  /** The HEADERS frame carried END_STREAM. */
  endStream: boolean;
  fields: HeaderField[];
  /** The decoded list passed `maxHeaderListSize` (fields are cut short). */
  tooLarge: boolean;
}

/** A GOAWAY received from the peer. */
export interface GoAway {
  lastStreamId: number;
  code: number;
  /** The debug text, empty when none was sent. */
  debug: string;
}

/** What a frame means to the end that owns the core. */
export interface H2CoreRole<S extends CoreStream> {
  /** Queues frames for writing, in order. */
  send(...frames: Uint8Array[]): void;
  /** The open stream `id`, if any. */
  stream(id: number): S | undefined;
  /** Every open stream. */
  streams(): Iterable<S>;
  /**
   * Whether `id` names a stream the peer may not refer to yet (idle,
   * §5.1): a frame for it is a connection error. Absent: never.
   */
  isIdle?(id: number): boolean;
  /**
   * Called for each SETTINGS, PING and RST_STREAM the peer sends (and
   * empty DATA); throw a {@linkcode ConnectionError} to stop a flood.
   */
  control?(): void;
  /** The peer's SETTINGS were applied and acknowledged. */
  settingsApplied(first: boolean): void;
  /** The peer answered our PING. */
  pingAck?(): void;
  /** The peer is going away. */
  goAway(g: GoAway): void;
  /** Send window grew: of the connection (undefined) or of `stream`. */
  windowOpened(stream: S | undefined): void;
  /** A stream-level error on `stream` (§5.4.2): reset it with `code`. */
  streamError(stream: S, code: number, message: string): void;
  /** The peer reset stream `id` with `code`. */
  reset(id: number, code: number): void;
  /**
   * A DATA frame on a stream the peer may use (not stream 0, not idle);
   * `body` is its payload without padding (valid until the next read).
   */
  data(f: Frame, body: Uint8Array): void;
  /** A complete header block. */
  headers(block: HeaderBlock): void;
}

/** Limits of {@linkcode H2Core}. */
export interface H2CoreOptions {
  /** Encoded header block size, over all its frames. */
  maxHeaderBlock: number;
  /** Decoded header list size (§6.5.2). @default Infinity */
  maxHeaderListSize?: number;
}

/**
 * The code and text of a GOAWAY for `err`, when it is a protocol failure
 * (an HPACK failure is a COMPRESSION_ERROR); undefined for anything else.
 */
export function connectionFailure(
  err: unknown,
): { code: number; message: string } | undefined {
  if (err instanceof ConnectionError) {
    return { code: err.code, message: err.message };
  }
  if (err instanceof HpackError) {
    return { code: ErrorCode.COMPRESSION_ERROR, message: err.message };
  }
  return undefined;
}

/** What an end announces in its first SETTINGS (push is always off). */
export interface OpeningSettings {
  /** Streams the peer may open at once; absent: no limit announced. */
  maxConcurrentStreams?: number;
  /** Receive window of each stream. */
  initialWindowSize: number;
  /** Largest decoded header list taken. */
  maxHeaderListSize: number;
  /** Receive window of the whole connection. */
  connectionWindow: number;
}

/**
 * Our SETTINGS and the WINDOW_UPDATE that raises the connection's receive
 * window from the default: what each end sends first (the client after its
 * preface).
 */
export function openingFrames(o: OpeningSettings): Uint8Array[] {
  const settings: [number, number][] = [];
  if (o.maxConcurrentStreams !== undefined) {
    settings.push([Setting.MAX_CONCURRENT_STREAMS, o.maxConcurrentStreams]);
  }
  settings.push(
    [Setting.INITIAL_WINDOW_SIZE, o.initialWindowSize],
    [Setting.MAX_HEADER_LIST_SIZE, o.maxHeaderListSize],
    [Setting.ENABLE_PUSH, 0],
  );
  return [
    settingsFrame(settings),
    windowUpdateFrame(0, o.connectionWindow - DEFAULT_WINDOW),
  ];
}

/** Reads the peer's frames for one connection; see the module doc. */
export class H2Core<S extends CoreStream> {
  readonly #role: H2CoreRole<S>;
  readonly #maxHeaderBlock: number;
  readonly #maxHeaderList: number;
  readonly #hpack = new HpackDecoder(4096);
  readonly #reader = new FrameReader(DEFAULT_MAX_FRAME_SIZE);
  #pending:
    | {
      streamId: number;
      endStream: boolean;
      parts: Uint8Array[];
      size: number;
    }
    | undefined;
  #gotSettings = false;
  /** The peer's SETTINGS_INITIAL_WINDOW_SIZE: each new stream's send window. */
  peerInitialWindow = DEFAULT_WINDOW;
  /** The largest frame payload the peer takes. */
  peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  /** How many streams the peer lets us open. */
  peerMaxStreams = Infinity;
  /** Bytes this end may still send on the connection. */
  sendWindow = DEFAULT_WINDOW;

  constructor(role: H2CoreRole<S>, options: H2CoreOptions) {
    this.#role = role;
    this.#maxHeaderBlock = options.maxHeaderBlock;
    this.#maxHeaderList = options.maxHeaderListSize ?? Infinity;
  }

  /** Whether the peer's first SETTINGS arrived. */
  get gotSettings(): boolean {
    return this.#gotSettings;
  }

  /**
   * Takes bytes read from the peer and handles each complete frame while
   * `open()` holds; throws `ConnectionError` (or `HpackError`).
   */
  receive(bytes: Uint8Array, open: () => boolean): void {
    this.#reader.push(bytes);
    for (let f; open() && (f = this.#reader.next()) !== undefined;) {
      this.frame(f);
    }
  }

  /** Frees the read buffer when it holds no partial frame (idle). */
  release(): void {
    this.#reader.release();
  }

  /** HEADERS (+ CONTINUATION) frames carrying `fields` on `streamId`. */
  headerFrames(
    streamId: number,
    fields: readonly HeaderField[],
    endStream: boolean,
  ): Uint8Array[] {
    return headersFrames(
      streamId,
      encodeHeaders(fields),
      endStream,
      this.peerMaxFrame,
    );
  }

  /** Handles one frame from the peer; throws `ConnectionError`. */
  frame(f: Frame): void {
    if (!this.#gotSettings && f.type !== FrameType.SETTINGS) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        "the first frame must be SETTINGS",
      );
    }
    if (this.#pending && f.type !== FrameType.CONTINUATION) {
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
        throw new ConnectionError(
          ErrorCode.PROTOCOL_ERROR,
          "PUSH_PROMISE although push is disabled",
        );
      case FrameType.PING:
        return this.#ping(f);
      case FrameType.GOAWAY:
        return this.#goAway(f);
      case FrameType.WINDOW_UPDATE:
        return this.#windowUpdate(f);
      default:
        return; // Unknown frame types are ignored (§4.1).
    }
  }

  #idle(id: number, what: string): void {
    if (this.#role.isIdle?.(id)) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        `${what} on an idle stream`,
      );
    }
  }

  #settings(f: Frame): void {
    const settings = readSettings(f);
    if (!settings) return;
    this.#role.control?.();
    for (const [id, value] of settings) {
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) {
          throw new ConnectionError(
            ErrorCode.FLOW_CONTROL_ERROR,
            "INITIAL_WINDOW_SIZE too large",
          );
        }
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.#role.streams()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) {
            throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "window");
          }
        }
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xff_ffff) {
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "MAX_FRAME_SIZE");
        }
        this.peerMaxFrame = value;
      } else if (id === Setting.MAX_CONCURRENT_STREAMS) {
        this.peerMaxStreams = value;
      } else if (id === Setting.ENABLE_PUSH && value > 1) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "ENABLE_PUSH");
      }
    }
    this.#role.send(settingsFrame([], true));
    const first = !this.#gotSettings;
    this.#gotSettings = true;
    this.#role.settingsApplied(first);
  }

  #ping(f: Frame): void {
    if (f.streamId !== 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
    }
    if (f.payload.length !== 8) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PING length");
    }
    if (f.flags & Flag.ACK) {
      this.#role.pingAck?.();
      return;
    }
    this.#role.control?.();
    const reply = new Uint8Array(FRAME_HEADER_SIZE + 8);
    writeFrameHeader(reply, 0, 8, FrameType.PING, Flag.ACK, 0);
    reply.set(f.payload, FRAME_HEADER_SIZE);
    this.#role.send(reply);
  }

  #goAway(f: Frame): void {
    if (f.streamId !== 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
    }
    if (f.payload.length < 8) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY length");
    }
    const view = new DataView(f.payload.buffer, f.payload.byteOffset, 8);
    this.#role.goAway({
      lastStreamId: view.getUint32(0) & 0x7fff_ffff,
      code: view.getUint32(4),
      debug: new TextDecoder().decode(f.payload.subarray(8)),
    });
  }

  #windowUpdate(f: Frame): void {
    const inc = windowIncrement(f);
    if (f.streamId === 0) {
      if (inc === 0) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "zero increment");
      }
      if (this.sendWindow + inc > MAX_WINDOW) {
        throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "window");
      }
      this.sendWindow += inc;
      this.#role.windowOpened(undefined);
      return;
    }
    this.#idle(f.streamId, "WINDOW_UPDATE");
    const s = this.#role.stream(f.streamId);
    if (!s) return;
    if (inc === 0) {
      return this.#role.streamError(
        s,
        ErrorCode.PROTOCOL_ERROR,
        "zero increment",
      );
    }
    if (s.sendWindow + inc > MAX_WINDOW) {
      return this.#role.streamError(
        s,
        ErrorCode.FLOW_CONTROL_ERROR,
        "bad WINDOW_UPDATE",
      );
    }
    s.sendWindow += inc;
    this.#role.windowOpened(s);
  }

  #rst(f: Frame): void {
    if (f.streamId === 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on 0");
    }
    if (f.payload.length !== 4) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM");
    }
    this.#idle(f.streamId, "RST_STREAM");
    this.#role.control?.();
    const code = new DataView(f.payload.buffer, f.payload.byteOffset, 4)
      .getUint32(0);
    this.#role.reset(f.streamId, code);
  }

  #data(f: Frame): void {
    if (f.streamId === 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    }
    this.#idle(f.streamId, "DATA");
    const body = unpaddedPayload(f, false);
    if (f.payload.length === 0 && !(f.flags & Flag.END_STREAM)) {
      this.#role.control?.(); // empty DATA frames cost us and carry nothing
    }
    this.#role.data(f, body);
  }

  #headers(f: Frame): void {
    if (f.streamId === 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on 0");
    }
    const fragment = unpaddedPayload(f, true);
    this.#pending = {
      streamId: f.streamId,
      endStream: (f.flags & Flag.END_STREAM) !== 0,
      parts: [fragment.slice()],
      size: 0,
    };
    this.#grow(fragment.length);
    if (f.flags & Flag.END_HEADERS) this.#headerBlockDone();
  }

  #continuation(f: Frame): void {
    const p = this.#pending;
    if (!p || p.streamId !== f.streamId) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        "CONTINUATION without HEADERS",
      );
    }
    this.#grow(f.payload.length);
    p.parts.push(f.payload.slice());
    if (f.flags & Flag.END_HEADERS) this.#headerBlockDone();
  }

  #grow(n: number): void {
    const p = this.#pending!;
    p.size += n;
    if (p.size > this.#maxHeaderBlock) {
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        "header block too large",
      );
    }
  }

  #headerBlockDone(): void {
    const p = this.#pending!;
    this.#pending = undefined;
    const bytes = p.parts.length === 1 ? p.parts[0]! : concatBytes(p.parts);
    // Always decoded, even for unknown or refused streams: the HPACK table
    // must stay in step with the peer's.
    const { fields, tooLarge } = this.#hpack.decode(bytes, this.#maxHeaderList);
    this.#role.headers({
      streamId: p.streamId,
      endStream: p.endStream,
      fields,
      tooLarge,
    });
  }
}
