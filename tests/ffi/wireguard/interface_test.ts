/** createInterface for both backends, on the host (no kernel WireGuard). */
import { NetlinkError } from "../../../ffi/netlink/errors.ts";
import { createInterface } from "../../../ffi/wireguard/interface.ts";
import { UserspaceWireGuard } from "../../../ffi/wireguard/uapi.ts";
import { assert, assertEquals, assertRejects } from "../../_tools/assert.ts";
import {
  addVeth,
  canUseNetns,
  ipnJson,
  randomSuffix,
  withNetns,
} from "../../_tools/netns.ts";
import { userspaceSkipReason } from "./_userspace_env.ts";

const skipUser = await userspaceSkipReason();
if (skipUser) console.log(`skip userspace interface test: ${skipUser}`);
const skipNs = await canUseNetns();
if (skipNs) console.log(`skip kernel interface tests: ${skipNs}`);

Deno.test({
  name: "createInterface(userspace) starts wireguard-go; close stops it",
  ignore: skipUser !== undefined,
  fn: async () => {
    await withNetns("wgif", async (ns) => {
      const name = `wgi${randomSuffix()}`;
      const itf = await createInterface("userspace", name, {
        wireguardGo: { testNetns: ns },
      });
      const uapi = new UserspaceWireGuard();
      try {
        assertEquals([itf.kind, itf.status()?.state], ["userspace", "running"]);
        assertEquals((await uapi.device(name)).name, name);
        const links = await ipnJson(ns, ["link", "show", name]) as {
          ifname: string;
        }[];
        assertEquals(links.map((l) => l.ifname), [name]);
      } finally {
        await itf.close();
      }
      assertEquals(itf.status()?.state, "stopped");
      assert(!(await uapi.has(name)), "socket left after close");
    });
  },
});

Deno.test({
  name:
    "createInterface(kernel) refuses a non-WireGuard link and reports a kernel without WireGuard",
  ignore: skipNs !== undefined,
  fn: async () => {
    await withNetns("wgik", async (ns) => {
      await addVeth(ns, "notwg0", "notwg1");
      await assertRejects(
        () => createInterface("kernel", "notwg0", { netns: ns }),
        TypeError,
        'of kind "veth"',
      );
      const made = await createInterface("kernel", "wgk0", { netns: ns }).then(
        (i) => i,
        (err) => err,
      );
      if (made instanceof Error) {
        // The host kernel has no WireGuard: the error says so.
        assert(made instanceof NetlinkError, String(made));
        assertEquals(made.errnoName, "EOPNOTSUPP");
      } else {
        await made.close();
      }
    });
  },
});
