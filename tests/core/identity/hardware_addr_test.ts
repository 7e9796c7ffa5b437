import { firstHardwareAddr } from "../../../core/identity/hardware_addr.ts";
import { formatMac } from "../../../core/identity/ula.ts";
import { assertEquals } from "../../_tools/assert.ts";

async function fakeSysfs(
  links: Record<string, { type: string; address: string; device?: boolean }>,
) {
  const root = await Deno.makeTempDir({ prefix: "edgespan-sysfs-" });
  for (const [name, l] of Object.entries(links)) {
    await Deno.mkdir(`${root}/${name}`);
    await Deno.writeTextFile(`${root}/${name}/type`, l.type + "\n");
    await Deno.writeTextFile(`${root}/${name}/address`, l.address + "\n");
    if (l.device) await Deno.mkdir(`${root}/${name}/device`);
  }
  return root;
}

Deno.test("firstHardwareAddr() picks the first physical link in name order", async () => {
  const root = await fakeSysfs({
    lo: { type: "772", address: "00:00:00:00:00:00" },
    veth0: { type: "1", address: "aa:aa:aa:aa:aa:01" },
    eth1: { type: "1", address: "00:11:22:33:44:02", device: true },
    eth0: { type: "1", address: "00:11:22:33:44:01", device: true },
  });
  try {
    const hw = await firstHardwareAddr({ root });
    assertEquals(hw?.link, "eth0");
    assertEquals(formatMac(hw!.mac), "00:11:22:33:44:01");
    assertEquals(hw?.physical, true);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("firstHardwareAddr() falls back to a virtual Ethernet link and honours exclusions", async () => {
  const root = await fakeSysfs({
    kubespan: { type: "1", address: "aa:aa:aa:aa:aa:00" },
    veth1: { type: "1", address: "aa:aa:aa:aa:aa:01" },
    wg0: { type: "65534", address: "" },
    zero: { type: "1", address: "00:00:00:00:00:00" },
  });
  try {
    const hw = await firstHardwareAddr({ root, exclude: ["kubespan"] });
    assertEquals(hw?.link, "veth1");
    assertEquals(hw?.physical, false);
    assertEquals(
      await firstHardwareAddr({ root: `${root}/missing` }),
      undefined,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
