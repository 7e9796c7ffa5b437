/**
 * The real-agent mesh once with the discovery service on the etcd store: the
 * agents' embedded discovery server is off, and edge-1's netns runs a
 * 3-member etcd on its loopback and `discovery serve --store etcd://...` on
 * 10.99.0.1:3000, the address every agent's config names.
 */
import { ping, waitForMesh } from "../../build/demo/mesh_demo.ts";
import { run } from "../../build/run.ts";
import { assert, assertEquals } from "../_tools/assert.ts";
import { etcdSkipReason, startEtcdCluster } from "../_tools/etcd_cluster.ts";
import { startReplica } from "../plugins/discovery_service/_etcd_replicas.ts";
import { MESH_SKIP, meshAddress, meshTest, withMesh } from "./_harness.ts";

const ETCD_SKIP = await etcdSkipReason();
if (ETCD_SKIP && !MESH_SKIP) {
  console.log(`tests/mesh/etcd_store_test.ts: skipped: ${ETCD_SKIP}`);
}

const DIR = new URL("../../.cache/test-mesh-etcd", import.meta.url).pathname;

/** Affiliate keys etcd holds (counted with etcdctl inside the netns). */
async function etcdAffiliates(
  netns: string,
  endpoint: string,
): Promise<number> {
  const out = await run("ip", [
    "netns",
    "exec",
    netns,
    "env",
    "ETCDCTL_API=3",
    "etcdctl",
    "--endpoints",
    endpoint,
    "get",
    "--prefix",
    "--keys-only",
    "-w",
    "json",
    "/edgespan/discovery/a/",
  ]);
  return Number(
    (JSON.parse(out.stdout || "{}") as { count?: number }).count ?? 0,
  );
}

if (!ETCD_SKIP) {
  meshTest(
    "3-node mesh converges with the discovery service on a 3-member etcd (etcd store)",
    async () => {
      await withMesh(
        { nodes: 3, dir: DIR, plugins: { "discovery-server": false } },
        async (demo) => {
          const netns = demo.agents[0]!.node.netns;
          await run("ip", ["-n", netns, "link", "set", "lo", "up"]);
          const etcd = await startEtcdCluster({ netns });
          try {
            const replica = await startReplica(etcd.endpoints, [], 0, {
              netns,
              listen: "10.99.0.1:3000",
            });
            try {
              const ms = await waitForMesh(demo, 60_000).catch((err) => {
                // The agents' logs stay in DIR; the replica's goes with it.
                const tail = replica.log().split("\n").slice(-60).join("\n");
                console.log(`discovery replica log (last lines):\n${tail}`);
                throw err;
              });
              console.log(
                `mesh on the etcd store converged in ${
                  (ms / 1000).toFixed(1)
                }s`,
              );
              for (const a of demo.agents) {
                for (const b of demo.agents) {
                  if (a === b) continue;
                  const target = await meshAddress(demo, b.node.index - 1);
                  const p = await ping(a.node, target, 1);
                  assert(p.ok, `edge-${a.node.index} -> ${target}: ${p.text}`);
                }
              }
              assertEquals(await etcdAffiliates(netns, etcd.endpoints[0]!), 3);
            } finally {
              await replica.kill();
            }
          } finally {
            await etcd.stop();
          }
        },
      );
    },
  );
}
