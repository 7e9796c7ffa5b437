/**
 * The mesh table's `mesh_guard` chain in a netns: with the mesh link
 * missing (table 180 empty, as while wireguard-go restarts), traffic marked
 * for the tunnel falls through to the main table; without the guard it
 * leaves by the underlay (a veth) in clear, with it it is dropped.
 */
import { meshTableSpec, Nftables } from "../../../ffi/nftables/mod.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";
import {
  addVeth,
  canUseNetns,
  nftJson,
  run,
  runOk,
  withNetns,
} from "../../_tools/netns.ts";

const reason = (await canUseNetns()) ??
  ((await run("nft", ["--version"])).code === 0
    ? undefined
    : "nft is not installed") ??
  ((await run("busybox", ["true"])).code === 0
    ? undefined
    : "busybox is not installed");
if (reason) console.log(`skipping mesh_guard netns test: ${reason}`);

const MESH = {
  name: "edgespan",
  routedIPv4: ["10.78.0.0/24"],
  routedIPv6: [],
  mssIPv4: 1368,
  mssIPv6: 1348,
  firewallMark: 0x20,
  forceFirewallMark: 0x40,
  firewallMask: 0x60,
};

/** Echo requests to 10.78.0.5 that left by the underlay `d0`. */
async function leaked(ns: string): Promise<number> {
  for (const item of await nftJson(ns, ["list", "table", "inet", "probe"])) {
    const rule = item.rule as
      | { expr?: { counter?: { packets: number } }[] }
      | undefined;
    const c = rule?.expr?.find((e) => e.counter)?.counter;
    if (c) return c.packets;
  }
  throw new Error("probe counter not found");
}

Deno.test({
  name:
    "mesh_guard drops tunnel-marked packets that would leave by another link while the mesh link is missing",
  ignore: reason !== undefined,
  fn: () =>
    withNetns("nftguard", async (ns) => {
      const ip = (...args: string[]) => runOk("ip", ["-n", ns, ...args]);
      await addVeth(ns, "d0", "d1", { address: "10.77.0.1/24" });
      await ip("route", "add", "default", "dev", "d0");
      // the mesh rule, with table 180 empty: the mesh link "wgx" is gone
      await ip(
        "rule",
        "add",
        "fwmark",
        "0x40/0x60",
        "lookup",
        "180",
        "priority",
        "32500",
      );
      await runOk("ip", [
        "netns",
        "exec",
        ns,
        "nft",
        "add table inet probe ; add chain inet probe post { type filter hook postrouting priority 100 ; } ; add rule inet probe post oifname d0 ip daddr 10.78.0.5 counter",
      ]);
      const ping = () =>
        run("ip", [
          "netns",
          "exec",
          ns,
          "busybox",
          "ping",
          "-c",
          "2",
          "-i",
          "0.1",
          "-W",
          "1",
          "10.78.0.5",
        ]);
      const nft = await Nftables.open({ netns: ns });
      try {
        await nft.replaceTable(meshTableSpec(MESH));
        await ping();
        const without = await leaked(ns);
        assert(without >= 2, `without the guard they leak: ${without}`);
        await nft.replaceTable(meshTableSpec({ ...MESH, tunnelLink: "wgx" }));
        await ping();
        assertEquals(await leaked(ns), without, "with the guard none leak");
        const text = await runOk("ip", [
          "netns",
          "exec",
          ns,
          "nft",
          "list",
          "chain",
          "inet",
          "edgespan",
          "mesh_guard",
        ]);
        assert(
          text.includes(
            'meta mark & 0x00000060 == 0x00000040 oifname != "wgx" drop',
          ),
          text,
        );
        assertEquals(
          await nft.verifyTable(meshTableSpec({ ...MESH, tunnelLink: "wgx" })),
          [],
        );
      } finally {
        nft.close();
      }
    }),
});
