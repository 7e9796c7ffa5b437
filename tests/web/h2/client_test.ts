import { assert, assertEquals, assertMatch } from "../../_tools/assert.ts";
import { create, toBinary } from "@bufbuild/protobuf";
import { WatchRequestSchema } from "../../../proto/gen/sidero/discovery/server/cluster_pb.ts";
import { H2ClientConnection, H2ClientError } from "../../../web/h2/client.ts";
import { encodeFrame, ErrorCode, FrameType } from "../../../web/h2/frame.ts";
import { grpcFrame, GrpcMessageReader } from "../../../web/grpc/message.ts";
import type { HeaderField } from "../../../web/h2/hpack.ts";
import {
  rawClient,
  startServer,
} from "../../plugins/discovery_service/_harness.ts";
import { startFakeServer } from "./_fake_server.ts";

const WATCH: HeaderField[] = [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", "/sidero.discovery.server.Cluster/Watch"],
  [":authority", "127.0.0.1"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
];

Deno.test("h2 client: a 16 KiB stream window is given back until a large snapshot is through", async () => {
  const srv = await startServer();
  const c = rawClient(srv.port);
  try {
    for (let i = 0; i < 150; i++) {
      await c.affiliateUpdate({
        clusterId: "big",
        affiliateId: `node-${i}`,
        affiliateData: new Uint8Array(2000).fill(i),
        ttl: { seconds: 600n },
      });
    }
    const conn = await H2ClientConnection.connect({
      host: "127.0.0.1",
      port: srv.port,
      tls: false,
    }, {
      streamWindow: 16_384,
    });
    try {
      const stream = conn.request(
        WATCH,
        grpcFrame(toBinary(
          WatchRequestSchema,
          create(WatchRequestSchema, { clusterId: "big" }),
        )),
      );
      const first = await stream.read();
      assertEquals(first?.kind, "headers");
      const reader = new GrpcMessageReader(1 << 24);
      let snapshot: Uint8Array | undefined;
      while (!snapshot) {
        const e = await stream.read();
        assert(e?.kind === "data", "data until the snapshot is complete");
        snapshot = reader.push(e.bytes)[0];
      }
      assert(
        snapshot.length > 10 * 16_384,
        `snapshot of ${snapshot.length} bytes spans many windows`,
      );
      stream.cancel();
    } finally {
      conn.close();
      await conn.closed;
    }
  } finally {
    await srv.close();
  }
});

Deno.test("h2 client: answers the server's PING and finds a dead connection with its own", async () => {
  let pingsFromClient = 0;
  let serverPingAcked = false;
  const fake = startFakeServer(async (c, f) => {
    if (f.type === FrameType.HEADERS) {
      await c.send(
        encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8).fill(7)),
      );
    }
    if (f.type === FrameType.PING) {
      if (f.flags & 1) serverPingAcked = f.payload[0] === 7;
      else pingsFromClient++; // never answered: the server looks dead
    }
  });
  const conn = await H2ClientConnection.connect({
    host: "127.0.0.1",
    port: fake.port,
    tls: false,
  }, {
    pingIntervalMs: 100,
    pingTimeoutMs: 300,
  });
  try {
    const stream = conn.request(WATCH, new Uint8Array(5));
    const started = performance.now();
    const err = await stream.read().then(() => undefined, (e: unknown) => e);
    assert(err instanceof H2ClientError);
    assertMatch(err.message, /no PING answer/);
    assert(err.retryable);
    assert(performance.now() - started < 3000);
    assertEquals(serverPingAcked, true);
    assertEquals(pingsFromClient, 1, "one PING in flight at a time");
    assertEquals(conn.usable, false);
    await conn.closed;
  } finally {
    conn.close();
    await fake.close();
  }
});

Deno.test("h2 client: a server that never sends SETTINGS fails the connect in time", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) held.push(c);
  })().catch(() => {});
  try {
    const started = performance.now();
    const err = await H2ClientConnection.connect({
      host: "127.0.0.1",
      port: (listener.addr as Deno.NetAddr).port,
      tls: false,
    }, {
      connectTimeoutMs: 300,
    }).then(() => undefined, (e: unknown) => e);
    assert(err instanceof H2ClientError);
    assertMatch(err.message, /no HTTP\/2 session within 300 ms/);
    assert(performance.now() - started < 2000);
  } finally {
    listener.close();
    for (const c of held) c.close();
    await accepting;
  }
});

/** `p`, or `late` when it takes more than 2 s. */
async function within<T>(p: Promise<T>, late: string): Promise<T | string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return await Promise.race([
    p,
    new Promise<string>((r) => (timer = setTimeout(() => r(late), 2000))),
  ]).finally(() => clearTimeout(timer));
}

/** Connects to a fake server that answers the first request with `reply`. */
async function firstAnswer(reply: Uint8Array) {
  const fake = startFakeServer(async (c, f) => {
    if (f.type === FrameType.HEADERS) await c.send(reply);
  });
  const conn = await H2ClientConnection.connect({
    host: "127.0.0.1",
    port: fake.port,
    tls: false,
  });
  try {
    const stream = conn.request(WATCH, new Uint8Array(5));
    const err = await within(
      stream.read().then(() => "answered", (e: unknown) => e),
      "no failure",
    );
    assertEquals(
      await within(conn.closed.then(() => "closed"), "open"),
      "closed",
    );
    // The client told the server why with a GOAWAY.
    await new Promise((r) => setTimeout(r, 50));
    return { err, sentGoaway: fake.log[0]!.includes(`${FrameType.GOAWAY}:0`) };
  } finally {
    conn.close();
    await fake.close();
  }
}

Deno.test("h2 client: a PING of the wrong length is a FRAME_SIZE_ERROR, as at the server", async () => {
  const { err, sentGoaway } = await firstAnswer(
    encodeFrame(FrameType.PING, 0, 0, new Uint8Array(7)),
  );
  assert(err instanceof H2ClientError, String(err));
  assertEquals(err.code, ErrorCode.FRAME_SIZE_ERROR);
  assertEquals(sentGoaway, true);
});

Deno.test("h2 client: DATA on a stream it never opened fails the connection", async () => {
  const { err, sentGoaway } = await firstAnswer(
    encodeFrame(FrameType.DATA, 0, 99, new Uint8Array(3)),
  );
  assert(err instanceof H2ClientError, String(err));
  assertEquals(err.code, ErrorCode.PROTOCOL_ERROR);
  assertMatch(err.message, /DATA on an idle stream/);
  assertEquals(sentGoaway, true);
});
