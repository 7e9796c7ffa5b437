import { assert, assertEquals } from "../../_tools/assert.ts";
import {
  CLIENT_PREFACE,
  encodeFrame,
  ErrorCode,
  Flag,
  type Frame,
  FrameReader,
  FrameType,
  goawayFrame,
  headersFrames,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "../../../web/h2/frame.ts";
import {
  encodeHeaders,
  type HeaderField,
  HpackDecoder,
} from "../../../web/h2/hpack.ts";
import { acceptLoop } from "../../../web/h2/listener.ts";
import type { ServerStream } from "../../../web/h2/server_stream.ts";
import type { AcceptOptions } from "../../../web/h2/listener.ts";

const REQUEST: HeaderField[] = [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", "/echo"],
  [":authority", "localhost"],
  ["content-type", "application/octet-stream"],
];

/** An echo server: body reversed, then a trailer. */
async function withServer(
  fn: (port: number, seen: ServerStream[]) => Promise<void>,
  options: AcceptOptions = {},
  handler?: (s: ServerStream) => void,
) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: ServerStream[] = [];
  const loop = acceptLoop(listener, {
    stream(s) {
      seen.push(s);
      if (handler) return handler(s);
      void s.body().then((b) => {
        s.respond([[":status", "200"]]);
        void s.write(b.slice().reverse());
        s.end([["x-done", "1"]]);
      }, () => {});
    },
    plain: (method, path) => ({
      status: path === "/healthz" ? 200 : 404,
      contentType: "text/plain",
      body: `${method} ${path}\n`,
    }),
  }, options);
  try {
    await fn((listener.addr as Deno.NetAddr).port, seen);
  } finally {
    await loop.close();
  }
}

/** A bare client that records every frame it receives. */
async function client(port: number, settings: [number, number][] = []) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const frames: Frame[] = [];
  let wake: (() => void) | undefined;
  let eof = false;
  const reader = new FrameReader(1 << 24);
  const done = (async () => {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        reader.push(buf.subarray(0, n));
        for (let f; (f = reader.next()) !== undefined;) {
          frames.push({ ...f, payload: f.payload.slice() });
        }
        wake?.();
      }
    } catch {
      // reset
    }
    eof = true;
    wake?.();
  })();
  const send = async (...parts: Uint8Array[]) => {
    for (const p of parts) {
      for (let o = 0; o < p.length;) o += await conn.write(p.subarray(o));
    }
  };
  // A refused connection may already be closed.
  await send(CLIENT_PREFACE, settingsFrame(settings)).catch(() => {});
  return {
    frames,
    send,
    /** Waits for a frame matching `pred` (or EOF: undefined). */
    async until(pred: (f: Frame) => boolean, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = frames.find(pred);
        if (hit || eof) return hit;
        if (Date.now() > deadline) {
          throw new Error("timed out waiting for a frame");
        }
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
    },
    get eof() {
      return eof;
    },
    async close() {
      try {
        conn.close();
      } catch {
        // closed
      }
      await done;
    },
  };
}

const request = (id: number, body: Uint8Array) => [
  ...headersFrames(id, encodeHeaders(REQUEST), false),
  encodeFrame(FrameType.DATA, Flag.END_STREAM, id, body),
];
const goawayCode = (f: Frame) => new DataView(f.payload.buffer).getUint32(4);
const isGoaway = (f: Frame) => f.type === FrameType.GOAWAY;

Deno.test("h2: a request gets headers, data and trailers; SETTINGS and PING are answered", async () => {
  await withServer(async (port) => {
    const c = await client(port);
    const ping = encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8).fill(7));
    await c.send(ping, ...request(1, new Uint8Array([1, 2, 3])));
    const trailers = await c.until((f) =>
      f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0
    );
    const hpack = new HpackDecoder();
    const kinds = c.frames.map((f) => f.type);
    assert(kinds.includes(FrameType.SETTINGS), "server SETTINGS");
    assert(
      c.frames.some((f) =>
        f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0
      ),
      "our SETTINGS acknowledged",
    );
    const pong = c.frames.find((f) => f.type === FrameType.PING)!;
    assertEquals([pong.flags, pong.payload[0]], [Flag.ACK, 7]);
    const headers = c.frames.find((f) => f.type === FrameType.HEADERS)!;
    assertEquals(hpack.decode(headers.payload).fields, [[":status", "200"]]);
    const data = c.frames.find((f) => f.type === FrameType.DATA)!;
    assertEquals([...data.payload], [3, 2, 1]);
    assertEquals(hpack.decode(trailers!.payload).fields, [["x-done", "1"]]);
    await c.close();
  });
});

Deno.test("h2: response data waits for the client's flow-control window", async () => {
  const body = new Uint8Array(100).map((_, i) => i);
  await withServer(async (port) => {
    const c = await client(port, [[Setting.INITIAL_WINDOW_SIZE, 10]]);
    await c.send(...request(1, body));
    await c.until((f) => f.type === FrameType.DATA);
    await new Promise((r) => setTimeout(r, 200));
    const received = () =>
      c.frames.filter((f) => f.type === FrameType.DATA)
        .reduce((n, f) => n + f.payload.length, 0);
    assertEquals(received(), 10, "only the initial window may be sent");
    await c.send(windowUpdateFrame(1, 90));
    await c.until((f) =>
      f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0
    );
    assertEquals(received(), 100);
    await c.close();
  });
});

Deno.test("h2: each protocol violation ends only its own connection, with the right GOAWAY code", async () => {
  await withServer(async (port) => {
    const cases: [string, Uint8Array[], number][] = [
      [
        "frame above the maximum size",
        [encodeFrame(FrameType.DATA, 0, 1, new Uint8Array(20_000))],
        ErrorCode.FRAME_SIZE_ERROR,
      ],
      [
        "undecodable header block",
        [encodeFrame(
          FrameType.HEADERS,
          Flag.END_HEADERS,
          1,
          new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
        )],
        ErrorCode.COMPRESSION_ERROR,
      ],
      [
        "endless CONTINUATION",
        [
          encodeFrame(FrameType.HEADERS, 0, 1, new Uint8Array([0x82])),
          ...Array.from(
            { length: 6 },
            () =>
              encodeFrame(FrameType.CONTINUATION, 0, 1, new Uint8Array(16_000)),
          ),
        ],
        ErrorCode.ENHANCE_YOUR_CALM,
      ],
      [
        "reset flood",
        [
          ...request(1, new Uint8Array(1)),
          ...Array.from(
            { length: 300 },
            () => rstStreamFrame(1, ErrorCode.CANCEL),
          ),
        ],
        ErrorCode.ENHANCE_YOUR_CALM,
      ],
      [
        "stream ids going backwards",
        [...request(5, new Uint8Array(1)), ...request(3, new Uint8Array(1))],
        ErrorCode.PROTOCOL_ERROR,
      ],
      [
        "PUSH_PROMISE from a client",
        [encodeFrame(
          FrameType.PUSH_PROMISE,
          Flag.END_HEADERS,
          1,
          new Uint8Array(4),
        )],
        ErrorCode.PROTOCOL_ERROR,
      ],
    ];
    for (const [name, frames, code] of cases) {
      const c = await client(port);
      await c.send(...frames).catch(() => {});
      const goaway = await c.until(isGoaway);
      assert(goaway, `${name}: no GOAWAY before the connection closed`);
      assertEquals(goawayCode(goaway!), code, name);
      await c.until(() => false, 3000).catch(() => {});
      assert(c.eof, `${name}: the server must close the connection`);
      await c.close();
    }
    // A preface that is not HTTP/2 and not HTTP/1.1: closed without a word.
    const bad = await Deno.connect({ hostname: "127.0.0.1", port });
    await bad.write(
      new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"),
    );
    const n = await bad.read(new Uint8Array(1024)).catch(() => null);
    // Our SETTINGS may arrive first; the connection must then end.
    if (n !== null) assertEquals(await readToEnd(bad), "closed");
    bad.close();
    // The server is unharmed.
    const ok = await client(port);
    await ok.send(...request(1, new Uint8Array([9])));
    assert(await ok.until((f) => f.type === FrameType.DATA), "still serving");
    await ok.close();
  });
});

async function readToEnd(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return "closed";
  }
}

Deno.test("h2: streams beyond the limit are refused; a client reset aborts the handler", async () => {
  const aborted: number[] = [];
  await withServer(
    async (port) => {
      const c = await client(port);
      await c.send(
        ...request(1, new Uint8Array(1)),
        ...request(3, new Uint8Array(1)),
      );
      await c.send(...request(5, new Uint8Array(1)));
      const refused = await c.until((f) => f.type === FrameType.RST_STREAM);
      assertEquals(
        [refused!.streamId, new DataView(refused!.payload.buffer).getUint32(0)],
        [5, ErrorCode.REFUSED_STREAM],
      );
      await c.send(rstStreamFrame(1, ErrorCode.CANCEL));
      for (let i = 0; i < 50 && aborted.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assertEquals(aborted, [1]);
      // The freed slot takes a new stream.
      await c.send(...request(7, new Uint8Array(1)));
      await c.until((f) => f.type === FrameType.HEADERS && f.streamId === 7);
      await c.close();
    },
    { maxConcurrentStreams: 2 },
    (s) => {
      s.signal.addEventListener("abort", () => aborted.push(s.id));
      if (s.id === 7) s.respond([[":status", "200"]], true);
    },
  );
});

Deno.test("http/1.1 on the same port answers plain GETs (curl, Prometheus)", async () => {
  await withServer(async (port) => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    assertEquals([res.status, await res.text()], [200, "GET /healthz\n"]);
    const missing = await fetch(`http://127.0.0.1:${port}/nope`);
    assertEquals([missing.status, await missing.text()], [404, "GET /nope\n"]);
  });
});

Deno.test("listener: connections over the per-IP limit are closed at once", async () => {
  const refused: string[] = [];
  await withServer(
    async (port) => {
      const a = await client(port);
      const b = await client(port);
      await a.until((f) => f.type === FrameType.SETTINGS);
      await b.until((f) => f.type === FrameType.SETTINGS);
      const c = await client(port);
      assertEquals(
        await c.until(() => false, 3000),
        undefined,
        "the third connection must be closed without a frame",
      );
      assert(c.eof && c.frames.length === 0, "third connection not refused");
      assertEquals(refused, ["127.0.0.1 per-ip"]);
      await a.close();
      await new Promise((r) => setTimeout(r, 100));
      const d = await client(port);
      await d.send(...request(1, new Uint8Array([5])));
      assert(
        await d.until((f) => f.type === FrameType.DATA),
        "a slot freed by a closed connection is usable again",
      );
      await Promise.all([b.close(), c.close(), d.close()]);
    },
    {
      maxConnectionsPerIp: 2,
      onRefused: (ip, limit) => refused.push(`${ip} ${limit}`),
    },
  );
});

Deno.test("h2: a GOAWAY shorter than 8 bytes is a FRAME_SIZE_ERROR, as at the client", async () => {
  await withServer(async (port) => {
    const c = await client(port);
    await c.send(encodeFrame(FrameType.GOAWAY, 0, 0, new Uint8Array(4)));
    const goaway = await c.until(isGoaway);
    assert(goaway, "no GOAWAY before the connection closed");
    assertEquals(goawayCode(goaway!), ErrorCode.FRAME_SIZE_ERROR);
    await c.close();
  });
});

Deno.test("h2: a well-formed GOAWAY from the client still ends the connection quietly", async () => {
  await withServer(async (port) => {
    const c = await client(port);
    await c.send(goawayFrame(0, ErrorCode.NO_ERROR));
    await c.until(() => false, 3000).catch(() => {});
    assert(c.eof, "the server must close the connection");
    assertEquals(c.frames.filter(isGoaway).length, 0);
    await c.close();
  });
});
