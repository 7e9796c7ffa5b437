/**
 * HTTP/2 framing (RFC 9113 §4, §6): frame types, flags, settings, error
 * codes, frame encoders and an incremental frame parser.
 *
 * @module
 */

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 1,
  ENABLE_PUSH: 2,
  MAX_CONCURRENT_STREAMS: 3,
  INITIAL_WINDOW_SIZE: 4,
  MAX_FRAME_SIZE: 5,
  MAX_HEADER_LIST_SIZE: 6,
} as const;

export const ErrorCode = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
} as const;

/** The 24 octets every client sends first. */
export const CLIENT_PREFACE = new TextEncoder().encode(
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
);

export const FRAME_HEADER_SIZE = 9;
export const DEFAULT_WINDOW = 65_535;
export const MAX_WINDOW = 0x7fff_ffff;
export const DEFAULT_MAX_FRAME_SIZE = 16_384;

/** One parsed frame; `payload` is a view into the read buffer. */
export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Uint8Array;
}

/** A connection error (RFC 9113 §5.4.1): GOAWAY with `code`, then close. */
export class ConnectionError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** Writes a frame header into `out` at `offset`. */
export function writeFrameHeader(
  out: Uint8Array,
  offset: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  out[offset] = length >>> 16;
  out[offset + 1] = (length >>> 8) & 0xff;
  out[offset + 2] = length & 0xff;
  out[offset + 3] = type;
  out[offset + 4] = flags;
  new DataView(out.buffer, out.byteOffset + offset + 5, 4).setUint32(
    0,
    streamId & 0x7fff_ffff,
  );
}

/** A whole frame (header and payload) in one new buffer. */
export function encodeFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  writeFrameHeader(out, 0, payload.length, type, flags, streamId);
  out.set(payload, FRAME_HEADER_SIZE);
  return out;
}

/** A SETTINGS frame (`settings` empty and `ack` for an acknowledgement). */
export function settingsFrame(
  settings: ReadonlyArray<[id: number, value: number]>,
  ack = false,
): Uint8Array {
  const payload = new Uint8Array(settings.length * 6);
  const view = new DataView(payload.buffer);
  settings.forEach(([id, value], i) => {
    view.setUint16(i * 6, id);
    view.setUint32(i * 6 + 2, value);
  });
  return encodeFrame(FrameType.SETTINGS, ack ? Flag.ACK : 0, 0, payload);
}

export function windowUpdateFrame(streamId: number, increment: number) {
  const payload = new Uint8Array(4);
  new DataView(payload.buffer).setUint32(0, increment);
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

export function rstStreamFrame(streamId: number, code: number) {
  const payload = new Uint8Array(4);
  new DataView(payload.buffer).setUint32(0, code);
  return encodeFrame(FrameType.RST_STREAM, 0, streamId, payload);
}

export function goawayFrame(lastStreamId: number, code: number, debug = "") {
  const text = new TextEncoder().encode(debug);
  const payload = new Uint8Array(8 + text.length);
  const view = new DataView(payload.buffer);
  view.setUint32(0, lastStreamId);
  view.setUint32(4, code);
  payload.set(text, 8);
  return encodeFrame(FrameType.GOAWAY, 0, 0, payload);
}

/**
 * The content of a DATA or HEADERS frame without its padding (and, for
 * HEADERS, without the priority fields).
 */
export function unpaddedPayload(f: Frame, priority: boolean): Uint8Array {
  let p = f.payload;
  let pad = 0;
  if (f.flags & Flag.PADDED) {
    if (p.length < 1) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "padding");
    }
    pad = p[0]!;
    p = p.subarray(1);
  }
  if (priority && f.flags & Flag.PRIORITY) {
    if (p.length < 5) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "priority");
    }
    p = p.subarray(5);
  }
  if (pad > p.length) {
    throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "padding too long");
  }
  return p.subarray(0, p.length - pad);
}

/**
 * The settings of a SETTINGS frame, or undefined for an acknowledgement;
 * a frame of the wrong shape is a connection error.
 */
export function readSettings(
  f: Frame,
): Array<[id: number, value: number]> | undefined {
  if (f.streamId !== 0) {
    throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
  }
  if (f.flags & Flag.ACK) {
    if (f.payload.length !== 0) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ack");
    }
    return undefined;
  }
  if (f.payload.length % 6 !== 0) {
    throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS length");
  }
  const view = new DataView(
    f.payload.buffer,
    f.payload.byteOffset,
    f.payload.length,
  );
  const out: Array<[number, number]> = [];
  for (let i = 0; i < f.payload.length; i += 6) {
    out.push([view.getUint16(i), view.getUint32(i + 2)]);
  }
  return out;
}

/** The increment of a WINDOW_UPDATE frame (its length checked). */
export function windowIncrement(f: Frame): number {
  if (f.payload.length !== 4) {
    throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE");
  }
  return new DataView(f.payload.buffer, f.payload.byteOffset, 4)
    .getUint32(0) & 0x7fff_ffff;
}

/** HEADERS (and CONTINUATION frames when the block exceeds `maxFrame`). */
export function headersFrames(
  streamId: number,
  block: Uint8Array,
  endStream: boolean,
  maxFrame = DEFAULT_MAX_FRAME_SIZE,
): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let off = 0;
  do {
    const piece = block.subarray(off, off + maxFrame);
    off += piece.length;
    const first = frames.length === 0;
    const last = off >= block.length;
    const flags = (last ? Flag.END_HEADERS : 0) |
      (first && endStream ? Flag.END_STREAM : 0);
    frames.push(
      encodeFrame(
        first ? FrameType.HEADERS : FrameType.CONTINUATION,
        flags,
        streamId,
        piece,
      ),
    );
  } while (off < block.length);
  return frames;
}

/**
 * Splits a byte stream into frames. Bytes are appended as they arrive;
 * `next()` returns a frame once it is complete. A frame longer than
 * `maxFrameSize` is a connection error.
 */
export class FrameReader {
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;

  constructor(public maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  push(chunk: Uint8Array): void {
    if (this.#buf.length - this.#end < chunk.length) {
      const have = this.#end - this.#start;
      const target = have + chunk.length > this.#buf.length
        ? new Uint8Array(Math.max(have + chunk.length, 2 * this.#buf.length))
        : this.#buf;
      target.set(this.#buf.subarray(this.#start, this.#end), 0);
      this.#buf = target;
      this.#start = 0;
      this.#end = have;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Drops the buffer once everything was consumed (idle connections). */
  release(): void {
    if (this.#start === this.#end) {
      this.#buf = new Uint8Array(0);
      this.#start = this.#end = 0;
    }
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * The next complete frame, or undefined. The payload is only valid until
   * the next `push`.
   */
  next(): Frame | undefined {
    const have = this.#end - this.#start;
    if (have < FRAME_HEADER_SIZE) return undefined;
    const b = this.#buf;
    const s = this.#start;
    const length = (b[s]! << 16) | (b[s + 1]! << 8) | b[s + 2]!;
    if (length > this.maxFrameSize) {
      throw new ConnectionError(
        ErrorCode.FRAME_SIZE_ERROR,
        `frame of ${length} bytes exceeds ${this.maxFrameSize}`,
      );
    }
    if (have < FRAME_HEADER_SIZE + length) return undefined;
    const streamId = ((b[s + 5]! & 0x7f) << 24 | b[s + 6]! << 16 |
      b[s + 7]! << 8 | b[s + 8]!) >>> 0;
    const frame = {
      type: b[s + 3]!,
      flags: b[s + 4]!,
      streamId,
      payload: b.subarray(
        s + FRAME_HEADER_SIZE,
        s + FRAME_HEADER_SIZE + length,
      ),
    };
    this.#start += FRAME_HEADER_SIZE + length;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return frame;
  }
}
