import { assert, assertEquals, assertMatch } from "../../_tools/assert.ts";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  Cluster,
  type HelloResponse,
  HelloResponseSchema,
} from "../../../proto/gen/sidero/discovery/server/cluster_pb.ts";
import { createGrpcTransport } from "../../../web/grpc/transport.ts";
import { grpcFrame } from "../../../web/grpc/message.ts";
import {
  encodeFrame,
  ErrorCode,
  Flag,
  FrameType,
  goawayFrame,
  headersFrames,
} from "../../../web/h2/frame.ts";
import { encodeHeaders } from "../../../web/h2/hpack.ts";
import {
  startServer,
  waitFor,
} from "../../plugins/discovery_service/_harness.ts";
import {
  type FakeConnection,
  type FakeServer,
  type Script,
  startFakeServer,
} from "../h2/_fake_server.ts";

const local = (port: number) => ({ host: "127.0.0.1", port, tls: false });

/** A complete Hello answer on `stream`: headers, message, trailers. */
async function answerHello(c: FakeConnection, stream: number): Promise<void> {
  const message = toBinary(
    HelloResponseSchema,
    create(HelloResponseSchema, { clientIp: new Uint8Array([127, 0, 0, 9]) }),
  );
  await c.send(
    ...headersFrames(
      stream,
      encodeHeaders([[":status", "200"], ["content-type", "application/grpc"]]),
      false,
    ),
    encodeFrame(FrameType.DATA, 0, stream, grpcFrame(message)),
    ...headersFrames(stream, encodeHeaders([["grpc-status", "0"]]), true),
  );
}

Deno.test("transport: the Watch and every call share one connection", async () => {
  // With one connection allowed per client IP, a second connection would be
  // refused and its call would fail.
  const srv = await startServer({ maxConnectionsPerIp: 1 });
  const transport = createGrpcTransport(local(srv.port));
  const client = createClient(Cluster, transport);
  const ac = new AbortController();
  try {
    const watch = client.watch({ clusterId: "one" }, { signal: ac.signal })[
      Symbol.asyncIterator
    ]();
    assertEquals((await watch.next()).value?.affiliates.length, 0);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        client.affiliateUpdate({
          clusterId: "one",
          affiliateId: `node-${i}`,
          affiliateData: new Uint8Array([i]),
        })),
    );
    const seen = new Set<string>();
    while (seen.size < 20) {
      for (const a of (await watch.next()).value!.affiliates) seen.add(a.id);
    }
    const hello = await client.hello({ clusterId: "one" });
    assertEquals(Array.from(hello.clientIp), [127, 0, 0, 1]);
    ac.abort();
    await watch.next().catch(() => {});
    await waitFor(() => srv.state.stats().watchers === 0, 5000, "watch end");
  } finally {
    transport.close();
    await srv.close();
  }
});

/**
 * Calls Hello through a transport against a scripted server; returns the
 * answer or the ConnectError, and the server (closed) for its frame log.
 */
async function helloAgainst(
  script: Script,
  timeoutMs?: number,
  before: (fake: FakeServer) => boolean = () => true,
): Promise<{ answer?: HelloResponse; error?: ConnectError; fake: FakeServer }> {
  const fake = startFakeServer(script);
  const transport = createGrpcTransport(local(fake.port), {
    idleCloseMs: 0,
  });
  try {
    const answer = await createClient(Cluster, transport).hello(
      { clusterId: "c" },
      timeoutMs ? { timeoutMs } : {},
    );
    return { answer, fake };
  } catch (error) {
    assert(error instanceof ConnectError, String(error));
    return { error, fake };
  } finally {
    transport.close();
    await waitFor(() => before(fake), 2000, "the server to see the end");
    await fake.close();
  }
}

Deno.test("transport: calls that race the idle close of their connection are sent again", async () => {
  // With idleCloseMs 0 every moment without a call closes the connection,
  // so calls in waves keep landing on one that is just going away.
  const srv = await startServer();
  const transport = createGrpcTransport(local(srv.port), {
    idleCloseMs: 0,
  });
  const client = createClient(Cluster, transport);
  try {
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < 1000) {
        await client.affiliateUpdate({
          clusterId: "race",
          affiliateId: `node-${next++}`,
          affiliateData: new Uint8Array(400),
          affiliateEndpoints: Array.from(
            { length: 64 },
            (_, j) => new Uint8Array(16).fill(j),
          ),
          ttl: { seconds: 60n },
        });
      }
    }));
    assertEquals(srv.state.stats().affiliates, 1000);
  } finally {
    transport.close();
    await srv.close();
  }
});

Deno.test("transport: a GOAWAY that excludes the call sends it again on a fresh connection", async () => {
  const { answer, fake } = await helloAgainst(async (c, f) => {
    if (f.type !== FrameType.HEADERS) return;
    if (c.index === 0) {
      await c.send(goawayFrame(0, ErrorCode.NO_ERROR, "restarting"));
      c.close();
    } else {
      await answerHello(c, f.streamId);
    }
  });
  assertEquals(Array.from(answer!.clientIp), [127, 0, 0, 9]);
  assertEquals(fake.log.length, 2, "two connections");
});

Deno.test("transport: a deadline ends the call with DEADLINE_EXCEEDED and resets the stream", async () => {
  let timeoutHeader = "";
  const started = performance.now();
  const { error, fake } = await helloAgainst(
    (_c, f, headers) => {
      timeoutHeader ||= headers?.find(([n]) => n === "grpc-timeout")?.[1] ?? "";
      if (f.type === FrameType.RST_STREAM) timeoutHeader += " reset";
    },
    200,
    () => timeoutHeader.endsWith("reset"),
  );
  assertEquals(error?.code, Code.DeadlineExceeded);
  assert(performance.now() - started < 2000);
  assertEquals(timeoutHeader, "200m reset");
  assert(fake.log[0]!.includes(`${FrameType.RST_STREAM}:1`));
});

Deno.test("transport: an HTTP answer that is not gRPC becomes a clear error", async () => {
  const { error } = await helloAgainst(async (c, f) => {
    if (f.type !== FrameType.HEADERS) return;
    await c.send(
      ...headersFrames(
        f.streamId,
        encodeHeaders([[":status", "404"], ["content-type", "text/html"]]),
        true,
      ),
    );
  });
  assertEquals(error?.code, Code.Unimplemented);
  assertMatch(error!.message, /HTTP status 404/);
});

Deno.test("transport: a stream that ends without a status is an error, not an empty answer", async () => {
  const { error } = await helloAgainst(async (c, f) => {
    if (f.type !== FrameType.HEADERS) return;
    await c.send(
      ...headersFrames(
        f.streamId,
        encodeHeaders([[":status", "200"], [
          "content-type",
          "application/grpc",
        ]]),
        false,
      ),
      encodeFrame(
        FrameType.DATA,
        Flag.END_STREAM,
        f.streamId,
        new Uint8Array(),
      ),
    );
  });
  assertEquals(error?.code, Code.Internal);
  assertMatch(error!.message, /without a status/);
});
