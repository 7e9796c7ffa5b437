/**
 * Cheap Watch clients for the discovery benchmark: raw HTTP/2 over TCP with
 * the project's own framing, many streams per connection, large receive
 * windows, and no decoding beyond gRPC message boundaries. Keeps the client
 * side of the benchmark from dominating the measurement.
 */
import { concatBytes } from "../../core/encoding/bytes.ts";
import {
  CLIENT_PREFACE,
  encodeFrame,
  Flag,
  FrameReader,
  FrameType,
  headersFrames,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "../../web/h2/frame.ts";
import { encodeHeaders } from "../../web/h2/hpack.ts";

/** One Watch stream's progress. */
export interface RawWatcher {
  /** Complete gRPC messages received. */
  messages: number;
  /** Bytes of the first message (the snapshot). */
  snapshotBytes: number;
  /** Called on every complete message after the snapshot. */
  onMessage?: (() => void) | undefined;
  /** Set once the server ended or reset the stream. */
  ended: boolean;
  /** Internal: bytes of the current message header seen, body left. */
  head: number[];
  rest: number;
  /** Received bytes not yet given back as window. */
  credit: number;
}

const WINDOW = 16 * 1024 * 1024;

/** Opens `count` Watch streams spread over `connections` connections. */
export async function openRawWatchers(
  port: number,
  request: Uint8Array,
  count: number,
  connections: number,
  onSnapshot: (w: RawWatcher) => void,
): Promise<{ watchers: RawWatcher[]; close(): void }> {
  const watchers: RawWatcher[] = [];
  const conns: Deno.Conn[] = [];
  const framed = new Uint8Array(5 + request.length);
  new DataView(framed.buffer).setUint32(1, request.length);
  framed.set(request, 5);
  const headerBlock = encodeHeaders([
    [":method", "POST"],
    [":scheme", "http"],
    [":path", "/sidero.discovery.server.Cluster/Watch"],
    [":authority", `127.0.0.1:${port}`],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
  ]);
  for (let c = 0; c < connections; c++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(conn);
    const byStream = new Map<number, RawWatcher>();
    const parts: Uint8Array[] = [
      CLIENT_PREFACE,
      settingsFrame([[Setting.INITIAL_WINDOW_SIZE, WINDOW], [
        Setting.ENABLE_PUSH,
        0,
      ]]),
      windowUpdateFrame(0, WINDOW),
    ];
    const mine = Math.floor(count / connections) +
      (c < count % connections ? 1 : 0);
    for (let i = 0; i < mine; i++) {
      const id = 1 + 2 * i;
      const w: RawWatcher = {
        messages: 0,
        snapshotBytes: 0,
        ended: false,
        head: [],
        rest: 0,
        credit: 0,
      };
      watchers.push(w);
      byStream.set(id, w);
      parts.push(...headersFrames(id, headerBlock, false));
      parts.push(encodeFrame(FrameType.DATA, Flag.END_STREAM, id, framed));
    }
    const out = concatBytes(parts);
    void (async () => {
      for (let o = 0; o < out.length;) o += await conn.write(out.subarray(o));
      const reader = new FrameReader(16 * 1024 * 1024);
      const buf = new Uint8Array(256 * 1024);
      let connCredit = 0;
      try {
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          reader.push(buf.subarray(0, n));
          const acks: Uint8Array[] = [];
          for (let f; (f = reader.next()) !== undefined;) {
            if (f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK)) {
              acks.push(settingsFrame([], true));
            }
            const w = byStream.get(f.streamId);
            if (!w) continue;
            if (f.type === FrameType.DATA) {
              connCredit += f.payload.length;
              // Windows are topped up in large steps, as real clients do:
              // one WINDOW_UPDATE per message would double the traffic.
              w.credit += f.payload.length;
              if (w.credit > WINDOW / 4) {
                acks.push(windowUpdateFrame(f.streamId, w.credit));
                w.credit = 0;
              }
              consume(w, f.payload, onSnapshot);
            }
            if (
              (f.type === FrameType.RST_STREAM) ||
              ((f.type === FrameType.DATA || f.type === FrameType.HEADERS) &&
                (f.flags & Flag.END_STREAM))
            ) w.ended = true;
          }
          if (connCredit > WINDOW / 4) {
            acks.push(windowUpdateFrame(0, connCredit));
            connCredit = 0;
          }
          if (acks.length > 0) {
            const ack = concatBytes(acks);
            for (let p = 0; p < ack.length;) {
              p += await conn.write(ack.subarray(p));
            }
          }
        }
      } catch {
        // closed
      }
      for (const w of byStream.values()) w.ended = true;
    })();
  }
  return {
    watchers,
    close() {
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed
        }
      }
    },
  };
}

function consume(
  w: RawWatcher,
  data: Uint8Array,
  onSnapshot: (w: RawWatcher) => void,
): void {
  let off = 0;
  while (off < data.length) {
    if (w.rest > 0) {
      const take = Math.min(w.rest, data.length - off);
      w.rest -= take;
      off += take;
      if (w.rest === 0) done(w, onSnapshot);
      continue;
    }
    w.head.push(data[off++]!);
    if (w.head.length === 5) {
      const len = ((w.head[1]! << 24) >>> 0) + (w.head[2]! << 16) +
        (w.head[3]! << 8) + w.head[4]!;
      w.head = [];
      if (w.messages === 0) w.snapshotBytes = len + 5;
      w.rest = len;
      if (len === 0) done(w, onSnapshot);
    }
  }
}

function done(w: RawWatcher, onSnapshot: (w: RawWatcher) => void): void {
  w.messages++;
  if (w.messages === 1) onSnapshot(w);
  else w.onMessage?.();
}
