/** Shared helpers: a service on 127.0.0.1 and a raw Connect client for it. */
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "../../../web/grpc/transport.ts";
import { Cluster } from "../../../proto/gen/sidero/discovery/server/cluster_pb.ts";
import {
  type DiscoveryServer,
  serveDiscovery,
  type ServeDiscoveryOptions,
} from "../../../plugins/discovery_service/server/serve.ts";

export async function startServer(
  opts: Partial<ServeDiscoveryOptions> = {},
): Promise<DiscoveryServer> {
  return await serveDiscovery({
    listen: "127.0.0.1:0",
    rateLimit: { rate: 10_000, burst: 10_000 },
    ...opts,
  });
}

/** Runs `fn` with a fresh server and its raw client; always closes it. */
export async function withServer(
  opts: Partial<ServeDiscoveryOptions>,
  fn: (srv: DiscoveryServer, c: Client<typeof Cluster>) => Promise<void>,
): Promise<void> {
  const srv = await startServer(opts);
  try {
    await fn(srv, rawClient(srv.port));
  } finally {
    await srv.close();
  }
}

export function rawClient(port: number): Client<typeof Cluster> {
  return createClient(
    Cluster,
    createGrpcTransport(
      { host: "127.0.0.1", port, tls: false },
      { idleCloseMs: 0 },
    ),
  );
}

/** Polls `cond` every 20 ms until true or `ms` passed. */
export async function waitFor(
  cond: () => boolean,
  ms: number,
  what: string,
): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const KEY_B64 = btoa(
  String.fromCharCode(...new Uint8Array(32).map((_, i) => i * 7)),
);
