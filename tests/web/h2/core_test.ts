/**
 * The connection core shared by the HTTP/2 client and server: each frame
 * check once, driven by a role that records what the core asks of it.
 */
import { assert, assertEquals, assertThrows } from "../../_tools/assert.ts";
import {
  connectionFailure,
  type CoreStream,
  H2Core,
  type H2CoreRole,
  type HeaderBlock,
  openingFrames,
} from "../../../web/h2/core.ts";
import {
  ConnectionError,
  DEFAULT_WINDOW,
  encodeFrame,
  ErrorCode,
  Flag,
  type Frame,
  FrameReader,
  FrameType,
  goawayFrame,
  MAX_WINDOW,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "../../../web/h2/frame.ts";
import { encodeHeaders, HpackError } from "../../../web/h2/hpack.ts";

/** The frames of `bytes`, parsed back. */
function parse(...bytes: Uint8Array[]): Frame[] {
  const reader = new FrameReader(1 << 20);
  for (const b of bytes) reader.push(b);
  const out: Frame[] = [];
  for (let f; (f = reader.next()) !== undefined;) {
    out.push({ ...f, payload: f.payload.slice() });
  }
  return out;
}

/** A core over a recording role, with streams 1 and 3 open. */
function setup(
  options: { maxHeaderBlock?: number; maxHeaderListSize?: number } = {},
  idleAbove = 3,
) {
  const streams = new Map<number, CoreStream>([
    [1, { id: 1, sendWindow: DEFAULT_WINDOW }],
    [3, { id: 3, sendWindow: DEFAULT_WINDOW }],
  ]);
  const calls: string[] = [];
  const sent: Uint8Array[] = [];
  const blocks: HeaderBlock[] = [];
  const role: H2CoreRole<CoreStream> = {
    send: (...frames) => void sent.push(...frames),
    stream: (id) => streams.get(id),
    streams: () => streams.values(),
    isIdle: (id) => id > idleAbove,
    control: () => void calls.push("control"),
    settingsApplied: (first) => void calls.push(`settings:${first}`),
    pingAck: () => void calls.push("pingAck"),
    goAway: (g) =>
      void calls.push(`goAway:${g.lastStreamId}:${g.code}:${g.debug}`),
    windowOpened: (s) => void calls.push(`window:${s?.id ?? 0}`),
    streamError: (s, code) => void calls.push(`streamError:${s.id}:${code}`),
    reset: (id, code) => void calls.push(`reset:${id}:${code}`),
    data: (f) => void calls.push(`data:${f.streamId}`),
    headers: (b) => void blocks.push(b),
  };
  const core = new H2Core(role, {
    maxHeaderBlock: options.maxHeaderBlock ?? 64 * 1024,
    ...(options.maxHeaderListSize !== undefined
      ? { maxHeaderListSize: options.maxHeaderListSize }
      : {}),
  });
  const feed = (...bytes: Uint8Array[]) => {
    for (const f of parse(...bytes)) core.frame(f);
  };
  return { core, streams, calls, sent, blocks, feed };
}

/** Runs `fn` and returns the code of the ConnectionError it throws. */
function failsWith(fn: () => void): number {
  const err = assertThrows(fn, ConnectionError);
  return (err as ConnectionError).code;
}

Deno.test("H2Core: the peer's first frame must be SETTINGS", () => {
  const t = setup();
  const ping = encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8));
  assertEquals(failsWith(() => t.feed(ping)), ErrorCode.PROTOCOL_ERROR);
  const u = setup();
  u.feed(settingsFrame([]), ping);
  assertEquals(u.core.gotSettings, true);
});

Deno.test("H2Core: SETTINGS are applied, acknowledged and reported once as the first", () => {
  const t = setup();
  t.feed(
    settingsFrame([
      [Setting.INITIAL_WINDOW_SIZE, DEFAULT_WINDOW + 100],
      [Setting.MAX_FRAME_SIZE, 32_768],
      [Setting.MAX_CONCURRENT_STREAMS, 7],
    ]),
    settingsFrame([[Setting.INITIAL_WINDOW_SIZE, DEFAULT_WINDOW - 5]]),
    settingsFrame([], true), // an ACK of ours changes nothing
  );
  assertEquals(t.calls, [
    "control",
    "settings:true",
    "control",
    "settings:false",
  ]);
  assertEquals(t.core.peerInitialWindow, DEFAULT_WINDOW - 5);
  assertEquals(t.core.peerMaxFrame, 32_768);
  assertEquals(t.core.peerMaxStreams, 7);
  // The delta of each change reaches every open stream.
  assertEquals(t.streams.get(1)!.sendWindow, DEFAULT_WINDOW - 5);
  const acks = parse(...t.sent);
  assertEquals(acks.length, 2);
  assert(acks.every((f) => f.type === FrameType.SETTINGS && f.flags === 1));
});

Deno.test("H2Core: bad SETTINGS values are connection errors", async (t) => {
  const cases: [string, [number, number][], number][] = [
    [
      "window above 2^31-1",
      [[Setting.INITIAL_WINDOW_SIZE, MAX_WINDOW + 1]],
      ErrorCode.FLOW_CONTROL_ERROR,
    ],
    [
      "frame size below 16 KiB",
      [[Setting.MAX_FRAME_SIZE, 1000]],
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "frame size above 16 MiB",
      [[Setting.MAX_FRAME_SIZE, 1 << 24]],
      ErrorCode.PROTOCOL_ERROR,
    ],
    ["ENABLE_PUSH of 2", [[Setting.ENABLE_PUSH, 2]], ErrorCode.PROTOCOL_ERROR],
  ];
  for (const [name, settings, code] of cases) {
    await t.step(name, () => {
      const s = setup();
      assertEquals(failsWith(() => s.feed(settingsFrame(settings))), code);
    });
  }
  await t.step(
    "a raise that pushes an open stream's window past 2^31-1",
    () => {
      const s = setup();
      s.feed(settingsFrame([]));
      s.streams.get(1)!.sendWindow = MAX_WINDOW - 10;
      const raise = settingsFrame([[
        Setting.INITIAL_WINDOW_SIZE,
        DEFAULT_WINDOW + 11,
      ]]);
      assertEquals(
        failsWith(() => s.feed(raise)),
        ErrorCode.FLOW_CONTROL_ERROR,
      );
    },
  );
});

Deno.test("H2Core: PING is answered with the same bytes; an ACK is reported", () => {
  const t = setup();
  const payload = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  t.feed(
    settingsFrame([]),
    encodeFrame(FrameType.PING, 0, 0, payload),
    encodeFrame(FrameType.PING, Flag.ACK, 0, new Uint8Array(8)),
  );
  const [, pong] = parse(...t.sent);
  assertEquals(pong!.type, FrameType.PING);
  assertEquals(pong!.flags, Flag.ACK);
  assertEquals(pong!.payload, payload);
  assertEquals(t.calls.slice(2), ["control", "pingAck"]);
  assertEquals(
    failsWith(() =>
      t.feed(encodeFrame(FrameType.PING, 0, 0, new Uint8Array(7)))
    ),
    ErrorCode.FRAME_SIZE_ERROR,
  );
  assertEquals(
    failsWith(() =>
      t.feed(encodeFrame(FrameType.PING, 0, 1, new Uint8Array(8)))
    ),
    ErrorCode.PROTOCOL_ERROR,
  );
});

Deno.test("H2Core: GOAWAY is parsed for the role; a short or stream GOAWAY is an error", () => {
  const t = setup();
  t.feed(settingsFrame([]), goawayFrame(3, ErrorCode.NO_ERROR, "restarting"));
  assertEquals(t.calls.at(-1), "goAway:3:0:restarting");
  const short = encodeFrame(FrameType.GOAWAY, 0, 0, new Uint8Array(4));
  assertEquals(failsWith(() => t.feed(short)), ErrorCode.FRAME_SIZE_ERROR);
  const onStream = encodeFrame(FrameType.GOAWAY, 0, 1, new Uint8Array(8));
  assertEquals(failsWith(() => t.feed(onStream)), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("H2Core: WINDOW_UPDATE grows the connection or a stream, within the rules", () => {
  const t = setup();
  t.feed(
    settingsFrame([]),
    windowUpdateFrame(0, 1000),
    windowUpdateFrame(1, 10),
  );
  assertEquals(t.core.sendWindow, DEFAULT_WINDOW + 1000);
  assertEquals(t.streams.get(1)!.sendWindow, DEFAULT_WINDOW + 10);
  // A closed (but not idle) stream is ignored.
  t.feed(windowUpdateFrame(3, 1));
  t.streams.delete(3);
  t.feed(windowUpdateFrame(3, 1));
  assertEquals(t.calls.slice(2), ["window:0", "window:1", "window:3"]);
  // Stream-level faults reset only the stream.
  t.feed(windowUpdateFrame(1, 0), windowUpdateFrame(1, MAX_WINDOW));
  assertEquals(t.calls.slice(5), [
    `streamError:1:${ErrorCode.PROTOCOL_ERROR}`,
    `streamError:1:${ErrorCode.FLOW_CONTROL_ERROR}`,
  ]);
  // Connection-level faults end the connection.
  assertEquals(
    failsWith(() => t.feed(windowUpdateFrame(0, 0))),
    ErrorCode.PROTOCOL_ERROR,
  );
  assertEquals(
    failsWith(() => t.feed(windowUpdateFrame(0, MAX_WINDOW))),
    ErrorCode.FLOW_CONTROL_ERROR,
  );
  assertEquals(
    failsWith(() => t.feed(windowUpdateFrame(5, 1))),
    ErrorCode.PROTOCOL_ERROR,
    "an idle stream",
  );
});

Deno.test("H2Core: RST_STREAM and DATA reach the role only for streams the peer may use", () => {
  const t = setup();
  t.feed(
    settingsFrame([]),
    rstStreamFrame(1, ErrorCode.CANCEL),
    encodeFrame(FrameType.DATA, 0, 3, new Uint8Array(2)),
    encodeFrame(FrameType.DATA, 0, 3, new Uint8Array(0)),
  );
  assertEquals(t.calls.slice(2), [
    "control",
    `reset:1:${ErrorCode.CANCEL}`,
    "data:3",
    "control", // an empty DATA frame without END_STREAM costs like a control frame
    "data:3",
  ]);
  const { PROTOCOL_ERROR: PROTOCOL, FRAME_SIZE_ERROR: SIZE } = ErrorCode;
  const { RST_STREAM, DATA, PRIORITY, PUSH_PROMISE } = FrameType;
  // name: [type, stream id, payload length, expected code]
  const cases: Record<string, [number, number, number, number]> = {
    "RST_STREAM on 0": [RST_STREAM, 0, 4, PROTOCOL],
    "RST_STREAM on an idle stream": [RST_STREAM, 5, 4, PROTOCOL],
    "RST_STREAM of 3 bytes": [RST_STREAM, 1, 3, SIZE],
    "DATA on 0": [DATA, 0, 1, PROTOCOL],
    "DATA on an idle stream": [DATA, 7, 1, PROTOCOL],
    "PRIORITY on 0": [PRIORITY, 0, 5, PROTOCOL],
    "PRIORITY of 4 bytes": [PRIORITY, 1, 4, SIZE],
    "PUSH_PROMISE": [PUSH_PROMISE, 1, 4, PROTOCOL],
  };
  for (const [name, [type, id, length, code]] of Object.entries(cases)) {
    const frame = encodeFrame(
      type,
      Flag.END_HEADERS,
      id,
      new Uint8Array(length),
    );
    assertEquals(failsWith(() => t.feed(frame)), code, name);
  }
  // Unknown frame types are ignored.
  t.feed(encodeFrame(0x42, 0, 0, new Uint8Array(3)));
});

Deno.test("H2Core: HEADERS and CONTINUATION become one decoded block", () => {
  const fields: [string, string][] = [
    [":status", "200"],
    ["x-long", "a".repeat(100)],
  ];
  const block = encodeHeaders(fields);
  const t = setup();
  t.feed(
    settingsFrame([]),
    encodeFrame(FrameType.HEADERS, Flag.END_STREAM, 1, block.subarray(0, 10)),
    encodeFrame(FrameType.CONTINUATION, 0, 1, block.subarray(10, 50)),
    encodeFrame(
      FrameType.CONTINUATION,
      Flag.END_HEADERS,
      1,
      block.subarray(50),
    ),
  );
  assertEquals(t.blocks, [{
    streamId: 1,
    endStream: true,
    fields,
    tooLarge: false,
  }]);
  // Padded HEADERS with a priority, in one frame.
  const padded = new Uint8Array([2, 0, 0, 0, 0, 16, ...block, 0, 0]);
  t.feed(
    encodeFrame(
      FrameType.HEADERS,
      Flag.END_HEADERS | Flag.PADDED | Flag.PRIORITY,
      3,
      padded,
    ),
  );
  assertEquals(t.blocks[1]!.fields, fields);
  assertEquals(t.blocks[1]!.endStream, false);
});

Deno.test("H2Core: header block faults are connection errors", async (t) => {
  const block = encodeHeaders([["x-a", "b".repeat(300)]]);
  await t.step("another frame inside a header block", () => {
    const s = setup();
    s.feed(
      settingsFrame([]),
      encodeFrame(FrameType.HEADERS, 0, 1, block.subarray(0, 5)),
    );
    const ping = encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8));
    assertEquals(failsWith(() => s.feed(ping)), ErrorCode.PROTOCOL_ERROR);
  });
  await t.step("CONTINUATION of another stream, or without HEADERS", () => {
    const s = setup();
    s.feed(
      settingsFrame([]),
      encodeFrame(FrameType.HEADERS, 0, 1, block.subarray(0, 5)),
    );
    const other = encodeFrame(
      FrameType.CONTINUATION,
      Flag.END_HEADERS,
      3,
      block.subarray(5),
    );
    assertEquals(failsWith(() => s.feed(other)), ErrorCode.PROTOCOL_ERROR);
    const u = setup();
    u.feed(settingsFrame([]));
    assertEquals(failsWith(() => u.feed(other)), ErrorCode.PROTOCOL_ERROR);
  });
  await t.step("HEADERS on stream 0", () => {
    const s = setup();
    s.feed(settingsFrame([]));
    const h = encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 0, block);
    assertEquals(failsWith(() => s.feed(h)), ErrorCode.PROTOCOL_ERROR);
  });
  await t.step("a block above the limit, counted from its first frame", () => {
    const s = setup({ maxHeaderBlock: 100 });
    s.feed(settingsFrame([]));
    const h = encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, block);
    assertEquals(failsWith(() => s.feed(h)), ErrorCode.ENHANCE_YOUR_CALM);
  });
  await t.step(
    "a decoded list above maxHeaderListSize is flagged, not thrown",
    () => {
      const s = setup({ maxHeaderListSize: 100 });
      s.feed(
        settingsFrame([]),
        encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, block),
      );
      assertEquals(s.blocks[0]!.tooLarge, true);
    },
  );
  await t.step("an undecodable block", () => {
    const s = setup();
    s.feed(settingsFrame([]));
    const bad = encodeFrame(
      FrameType.HEADERS,
      Flag.END_HEADERS,
      1,
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
    );
    const err = assertThrows(() => s.feed(bad));
    assertEquals(connectionFailure(err)?.code, ErrorCode.COMPRESSION_ERROR);
  });
});

Deno.test("connectionFailure() maps protocol errors to GOAWAY codes, nothing else", () => {
  assertEquals(
    connectionFailure(
      new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "window"),
    ),
    { code: ErrorCode.FLOW_CONTROL_ERROR, message: "window" },
  );
  assertEquals(
    connectionFailure(new HpackError("truncated integer")),
    { code: ErrorCode.COMPRESSION_ERROR, message: "truncated integer" },
  );
  assertEquals(connectionFailure(new Error("socket closed")), undefined);
});

Deno.test("openingFrames() sends our SETTINGS and raises the connection window", () => {
  const setting = (f: Frame) => {
    const view = new DataView(f.payload.buffer);
    return Array.from(
      { length: f.payload.length / 6 },
      (_, i) => [view.getUint16(6 * i), view.getUint32(6 * i + 2)],
    );
  };
  const [settings, update] = parse(...openingFrames({
    maxConcurrentStreams: 100,
    initialWindowSize: 1 << 16,
    maxHeaderListSize: 8192,
    connectionWindow: 1 << 20,
  }));
  assertEquals(settings!.type, FrameType.SETTINGS);
  assertEquals(setting(settings!), [
    [Setting.MAX_CONCURRENT_STREAMS, 100],
    [Setting.INITIAL_WINDOW_SIZE, 1 << 16],
    [Setting.MAX_HEADER_LIST_SIZE, 8192],
    [Setting.ENABLE_PUSH, 0],
  ]);
  assertEquals(update!.type, FrameType.WINDOW_UPDATE);
  assertEquals(update!.streamId, 0);
  assertEquals(
    new DataView(update!.payload.buffer).getUint32(0),
    (1 << 20) - DEFAULT_WINDOW,
  );
  // A client announces no stream limit.
  const [clientSettings] = parse(...openingFrames({
    initialWindowSize: 1 << 16,
    maxHeaderListSize: 8192,
    connectionWindow: 1 << 20,
  }));
  assertEquals(setting(clientSettings!).map(([id]) => id), [
    Setting.INITIAL_WINDOW_SIZE,
    Setting.MAX_HEADER_LIST_SIZE,
    Setting.ENABLE_PUSH,
  ]);
});

Deno.test("H2Core.receive() handles frames across reads and stops when told", () => {
  const t = setup();
  const bytes = new Uint8Array([
    ...settingsFrame([]),
    ...encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8)),
    ...encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8)),
  ]);
  t.core.receive(bytes.subarray(0, 5), () => true);
  assertEquals(t.calls, [], "half a frame header waits");
  let open = true;
  t.core.receive(bytes.subarray(5, 30), () => open);
  assertEquals(t.calls, ["control", "settings:true", "control"]);
  open = false;
  t.core.receive(bytes.subarray(30), () => open);
  assertEquals(t.calls.length, 3, "nothing after the owner closed");
});

Deno.test("H2Core.headerFrames() splits a block at the peer's frame size", () => {
  const t = setup();
  const fields: [string, string][] = [["x-big", "z".repeat(40_000)]];
  t.feed(settingsFrame([[Setting.MAX_FRAME_SIZE, 20_000]]));
  const frames = parse(...t.core.headerFrames(5, fields, true));
  assertEquals(frames.map((f) => f.type), [
    FrameType.HEADERS,
    FrameType.CONTINUATION,
    FrameType.CONTINUATION,
  ]);
  assert(frames.every((f) => f.payload.length <= 20_000 && f.streamId === 5));
  assertEquals(frames[0]!.flags & Flag.END_STREAM, Flag.END_STREAM);
  assertEquals(frames[2]!.flags & Flag.END_HEADERS, Flag.END_HEADERS);
});
