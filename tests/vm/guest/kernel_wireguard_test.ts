/**
 * Kernel WireGuard suite, run INSIDE the qemu guest by tests/vm/run.sh (the
 * host has no WireGuard module). Two netns nodes joined by a veth, each with
 * a kernel `wireguard` link made over rtnetlink and configured over generic
 * netlink by KernelWireGuard; a ping crosses; the read-back equals
 * `wg show <if> dump`. Then the 1000-peer benchmark against wg(8).
 *
 * Relative imports only: the guest has no network and no npm cache.
 */
import { RtNetlink } from "../../../ffi/rtnetlink/rtnetlink.ts";
import { createInterface } from "../../../ffi/wireguard/interface.ts";
import { KernelWireGuard } from "../../../ffi/wireguard/kernel.ts";
import { assertEquals } from "../../_tools/assert.ts";
import {
  addressAndUp,
  assertMatchesWg,
  assertPing,
  nodeConfig,
  type TestNode,
  twoNodes,
} from "../../ffi/wireguard/_two_nodes.ts";
import { runOk, withNetns } from "../../_tools/netns.ts";
import {
  dumpViewOf,
  parseWgDump,
  peerConfig,
  peerConfigs,
  randomPrivateKey,
  sortedView,
  wgConf,
} from "../../ffi/wireguard/_wg_dump.ts";

const hasKernelWg = await (async () => {
  try {
    (await KernelWireGuard.open()).close();
    return undefined;
  } catch (err) {
    return `no kernel WireGuard here (${
      err instanceof Error ? err.message : err
    }); this suite runs in the VM tier`;
  }
})();
if (hasKernelWg) console.log(`skip: ${hasKernelWg}`);

/** The benchmark uses the root netns, so it runs only in the throwaway VM. */
const inVm = Deno.env.get("EDGESPAN_VM_GUEST") === "1";
if (!inVm) console.log("skip kernel benchmark: runs only in the VM guest");

async function setupNode(n: TestNode, peer: TestNode): Promise<void> {
  await createInterface("kernel", n.ifname, { netns: n.ns });
  const wg = await KernelWireGuard.open({ netns: n.ns });
  try {
    await wg.configure(n.ifname, nodeConfig(n, peer));
  } finally {
    wg.close();
  }
  await addressAndUp(n);
}

Deno.test({
  name: "kernel WG: two netns nodes configured over genetlink ping each other",
  ignore: hasKernelWg !== undefined,
  fn: async () => {
    await withNetns("vma", async (a) => {
      await withNetns("vmb", async (b) => {
        const [na, nb] = await twoNodes(
          [a, b],
          ["wg0", "wg0"],
          "192.168.50",
          "10.9.0",
        );
        await setupNode(na, nb);
        await setupNode(nb, na);
        await assertPing(na, nb);
        for (const n of [na, nb]) {
          const wg = await KernelWireGuard.open({ netns: n.ns });
          try {
            await assertMatchesWg(n, await wg.device(n.ifname));
          } finally {
            wg.close();
          }
        }
      });
    });
  },
});

Deno.test({
  name:
    "kernel WG: 1000 peers via genetlink vs wg setconf, read-back vs wg show dump",
  ignore: hasKernelWg !== undefined || !inVm,
  fn: async () => {
    // In the guest's own netns, so wg(8) runs without `ip netns exec`
    // (which would add its own cost to wg's side); the guest is throwaway.
    const rt = await RtNetlink.open();
    const wg = await KernelWireGuard.open();
    try {
      await rt.createLink("wgb0", "wireguard");
      await rt.createLink("wgb1", "wireguard");
      const priv = randomPrivateKey();
      const peers = peerConfigs(1000);
      let t = performance.now();
      await wg.configure("wgb0", {
        privateKey: priv,
        listenPort: 40000,
        replacePeers: true,
        peers: peers.map(peerConfig),
      });
      const oursSet = performance.now() - t;
      const path = await Deno.makeTempFile();
      await Deno.writeTextFile(path, wgConf(priv, 40001, peers));
      t = performance.now();
      await runOk("wg", ["setconf", "wgb1", path]);
      const theirsSet = performance.now() - t;
      await Deno.remove(path);
      t = performance.now();
      const dev = await wg.device("wgb0");
      const oursGet = performance.now() - t;
      t = performance.now();
      const dump = await runOk("wg", ["show", "wgb0", "dump"]);
      const theirsGet = performance.now() - t;
      assertEquals(dev.peers.length, 1000);
      assertEquals(sortedView(dumpViewOf(dev)), sortedView(parseWgDump(dump)));
      const f = (x: number) => x.toFixed(1);
      console.log(
        `@@bench kernel configure-1000 ours=${f(oursSet)}ms wg-setconf=${
          f(theirsSet)
        }ms ratio=${(oursSet / theirsSet).toFixed(2)}`,
      );
      console.log(
        `@@bench kernel readback-1000 ours=${f(oursGet)}ms wg-show-dump=${
          f(theirsGet)
        }ms ratio=${(oursGet / theirsGet).toFixed(2)}`,
      );
    } finally {
      // The links stay: deleting 1000 peers takes ~30 s under TCG, and the
      // guest is powered off right after the suite.
      wg.close();
      rt.close();
    }
  },
});
