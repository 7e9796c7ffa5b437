import { assertEquals, assertMatch } from "../../_tools/assert.ts";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "../../../web/grpc/transport.ts";
import { Cluster } from "../../../proto/gen/sidero/discovery/server/cluster_pb.ts";
import { DiscoveryClient } from "../../../plugins/discovery_service/client.ts";
import {
  clusterKey,
  createClusterCipher,
} from "../../../plugins/discovery_service/crypto.ts";
import { KEY_B64, startServer, waitFor } from "./_harness.ts";
import { affiliate } from "./_affiliates.ts";

function hasOpenssl(): boolean {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
const canRun = hasOpenssl();
if (!canRun) console.log("discovery TLS test skipped: openssl not installed");

async function selfSigned(dir: string): Promise<{ cert: string; key: string }> {
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return {
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
}

Deno.test({
  name:
    "tls: https:// and grpc:// clients talk TLS to a TLS server; wrong CA fails",
  ignore: !canRun,
  async fn() {
    const dir = await Deno.makeTempDir();
    const { cert, key } = await selfSigned(dir);
    const srv = await startServer({ tlsCert: cert, tlsKey: key });
    const ac = new AbortController();
    const runs: Promise<void>[] = [];
    try {
      const mk = (scheme: string, n: number) =>
        new DiscoveryClient({
          url: `${scheme}://127.0.0.1:${srv.port}`,
          clusterId: "tls",
          nodeId: `node-${n}`,
          cipher: createClusterCipher(clusterKey(KEY_B64)),
          clientVersion: "test",
          source: "discovery-service",
          tlsCa: cert,
          backoff: { initialMs: 50, multiplier: 1.5, jitter: 0.2, maxMs: 300 },
        });
      const a = mk("https", 1);
      const b = mk("grpc", 2);
      runs.push(a.run(ac.signal), b.run(ac.signal));
      a.publish(affiliate(1), []);
      b.publish(affiliate(2), []);
      await waitFor(
        () => a.affiliates().length === 1 && b.affiliates().length === 1,
        10_000,
        "TLS convergence",
      );
      // Without the CA the handshake must fail.
      const untrusted = createGrpcTransport(
        { host: "127.0.0.1", port: srv.port, tls: true },
        { idleCloseMs: 0 },
      );
      const failure = await createClient(Cluster, untrusted)
        .hello({ clusterId: "tls" }).then(() => "", (e: Error) => e.message);
      untrusted.close();
      assertMatch(failure, /certificate|UnknownIssuer/i);
      assertEquals(a.health().state, "connected");
    } finally {
      ac.abort();
      await Promise.all(runs);
      await srv.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
