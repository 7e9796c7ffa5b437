/**
 * Child process of the discovery flood test: from many loopback source
 * addresses (127.0.0.2 …), each with its own HTTP/2 connection bound to
 * that address, pushes max-size AffiliateUpdates for new affiliates in new
 * clusters as fast as the server answers, for a fixed time. Prints one JSON
 * line: counts by gRPC status and message.
 *
 *   deno run -A _flood_child.ts PORT ADDRESSES SECONDS [IN_FLIGHT]
 *
 * Traffic goes to 127.0.0.1 only; the count is bounded by time and the
 * number of addresses.
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { AffiliateUpdateRequestSchema } from "../../../proto/gen/sidero/discovery/server/cluster_pb.ts";
import { grpcFrame } from "../../../web/grpc/message.ts";

const [port, addresses, seconds, inFlight] = [
  Number(Deno.args[0]),
  Number(Deno.args[1] ?? 40),
  Number(Deno.args[2] ?? 4),
  Number(Deno.args[3] ?? 8),
];
const until = Date.now() + seconds * 1000;
const ttl = create(DurationSchema, { seconds: 1800n });
const outcomes = new Map<string, number>();
const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

/** A max-size update: 2048 bytes of data, 64 endpoints of 32 bytes. */
function request(source: number, n: number): Uint8Array {
  const data = crypto.getRandomValues(new Uint8Array(2048));
  const endpoints = Array.from({ length: 64 }, () => {
    return crypto.getRandomValues(new Uint8Array(32));
  });
  return grpcFrame(toBinary(
    AffiliateUpdateRequestSchema,
    create(AffiliateUpdateRequestSchema, {
      clusterId: `flood-${source}-${Math.floor(n / 1000)}`,
      affiliateId: `${source}-${n}-`.padEnd(256, "x"),
      affiliateData: data,
      affiliateEndpoints: endpoints,
      ttl,
    }),
  ));
}

function call(session: http2.ClientHttp2Session, body: Uint8Array) {
  return new Promise<string>((resolve) => {
    const req = session.request({
      ":method": "POST",
      ":path": "/sidero.discovery.server.Cluster/AffiliateUpdate",
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": "3S",
    });
    let status = "";
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] === undefined) return;
      status = `${h["grpc-status"]}:${
        decodeURIComponent(String(h["grpc-message"] ?? ""))
      }`;
    };
    req.on("response", take);
    req.on("trailers", take);
    req.on("data", () => {});
    req.on("error", () => resolve("stream-error"));
    req.on("close", () => resolve(status || "no-status"));
    req.end(body);
  });
}

async function flood(source: number): Promise<void> {
  const localAddress = `127.0.0.${source}`;
  const session = http2.connect(`http://127.0.0.1:${port}`, {
    createConnection: () =>
      net.connect({ host: "127.0.0.1", port, localAddress }),
  });
  session.on("error", () => {});
  let n = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (Date.now() < until && !session.destroyed) {
      count(await call(session, request(source, n++)));
    }
  }));
  session.destroy();
}

await Promise.all(
  Array.from({ length: addresses }, (_, i) => flood(2 + i)),
);
console.log(JSON.stringify(Object.fromEntries(outcomes)));
Deno.exit(0);
