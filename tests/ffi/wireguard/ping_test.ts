/**
 * Userspace WireGuard end to end on the host: two netns joined by a veth,
 * one supervised wireguard-go per node (unique interface names, since
 * /var/run/wireguard is global), configured by UserspaceWireGuard over UAPI;
 * `busybox ping` crosses the tunnel and our read-back equals `wg show dump`.
 */
import { openWireGuard } from "../../../ffi/wireguard/client.ts";
import {
  createInterface,
  type WgInterface,
} from "../../../ffi/wireguard/interface.ts";
import { assertEquals } from "../../_tools/assert.ts";
import { randomSuffix, runOk, withNetns } from "../../_tools/netns.ts";
import { parseWgDump } from "./_wg_dump.ts";
import {
  addressAndUp,
  assertMatchesWg,
  assertPing,
  nodeConfig,
  twoNodes,
} from "./_two_nodes.ts";
import { userspaceSkipReason } from "./_userspace_env.ts";

const skip = await userspaceSkipReason();
if (skip) console.log(`skip userspace ping test: ${skip}`);

Deno.test({
  name:
    "userspace WG: two netns via wireguard-go + our UAPI ping; read-back equals wg show dump",
  ignore: skip !== undefined,
  fn: async () => {
    await withNetns("wgpa", async (a) => {
      await withNetns("wgpb", async (b) => {
        const sfx = randomSuffix().slice(0, 6);
        const nodes = await twoNodes(
          [a, b],
          [`wg${sfx}a`, `wg${sfx}b`],
          "192.168.60",
          "10.8.0",
        );
        const ifs: WgInterface[] = [];
        const wg = await openWireGuard({ backend: "userspace" });
        try {
          for (const n of nodes) {
            ifs.push(
              await createInterface(wg.kind, n.ifname, {
                wireguardGo: { testNetns: n.ns },
              }),
            );
          }
          for (const [i, n] of nodes.entries()) {
            await wg.configure(n.ifname, nodeConfig(n, nodes[1 - i]!));
            await addressAndUp(n);
          }
          await assertPing(nodes[0], nodes[1]);
          for (const n of nodes) {
            await assertMatchesWg(n, await wg.device(n.ifname));
          }
          // Removing the peer through UAPI is visible to wg(8) too.
          await wg.configure(nodes[0]!.ifname, {
            peers: [{ publicKey: nodes[1]!.pub, remove: true }],
          });
          const after = parseWgDump(
            await runOk("wg", ["show", nodes[0]!.ifname, "dump"]),
          );
          assertEquals(after.peers, []);
        } finally {
          wg.close();
          for (const i of ifs) await i.close();
        }
      });
    });
  },
});
