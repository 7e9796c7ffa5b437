/** The rtnetlink host address source: fixtures, a fake link, and a real netns. */
import type { HostAddressSource } from "../../../core/agent.ts";
import {
  type HostAddress,
  selectNodeAddresses,
} from "../../../core/mesh/node_addresses.ts";
import { checkReplies } from "../../../ffi/netlink/conn.ts";
import {
  hostAddressesOf,
  netlinkHostAddresses,
} from "../../../ffi/rtnetlink/host_addresses.ts";
import {
  type Address,
  type Link,
  parseAddress,
  parseLink,
} from "../../../ffi/rtnetlink/mod.ts";
import { assertEquals, assertRejects } from "../../_tools/assert.ts";
import { canUseNetns, runOk, withNetns } from "../../_tools/netns.ts";
import { loadFixture } from "../_fixtures.ts";

const reason = await canUseNetns();
if (reason) console.log(`skipping host address netns tests: ${reason}`);

function brief(a: HostAddress): string {
  const s = a.linkState;
  return `${a.link} ${a.address} ${a.scope} op=${s.operational} phys=${s.physical} carrier=${s.carrier}`;
}

// Captured from a netns where va is set up but its peer vb is down.
Deno.test("hostAddressesOf() joins captured dumps: scope and link state per address", async () => {
  const links = checkReplies("fixture", await loadFixture("links.hex")).map(
    parseLink,
  );
  const addresses = checkReplies("fixture", await loadFixture("addresses.hex"))
    .map(parseAddress).filter((a): a is Address => a !== undefined);
  assertEquals(hostAddressesOf(links, addresses).map(brief), [
    "lo 127.0.0.1/8 host op=true phys=false carrier=true",
    "va 10.9.0.1/24 global op=false phys=false carrier=false",
    "lo ::1/128 host op=true phys=false carrier=true",
    "va fd00::1/64 global op=false phys=false carrier=false",
  ]);
});

Deno.test("hostAddressesOf() marks ethernet without a kind as physical and reads carrier", () => {
  const link = (index: number, name: string, flags: number): Link => ({
    index,
    name,
    kind: "",
    mac: "02:00:00:00:00:01",
    mtu: 1500,
    type: 1,
    flags,
    up: true,
  });
  const links = [
    link(2, "eth0", 0x1 | 0x40 | 0x10000), // UP, RUNNING, LOWER_UP
    link(3, "eth1", 0x1), // cable out
    { ...link(4, "br0", 0x1 | 0x40), kind: "bridge" },
  ];
  const addr = (ifindex: number, address: string, scope = 0): Address => ({
    family: address.includes(":") ? 6 : 4,
    ifindex,
    address,
    scope,
    flags: 0,
  });
  const host = hostAddressesOf(links, [
    addr(2, "192.0.2.10/24"),
    addr(2, "fe80::1/64", 253),
    addr(3, "198.51.100.1/24"),
    addr(4, "10.1.0.1/24", 200),
    addr(9, "10.9.9.9/24"), // link vanished between the dumps
  ]);
  assertEquals(host.map(brief), [
    "eth0 192.0.2.10/24 global op=true phys=true carrier=true",
    "eth0 fe80::1/64 link op=true phys=true carrier=true",
    "eth1 198.51.100.1/24 global op=false phys=true carrier=false",
    "br0 10.1.0.1/24 site op=true phys=false carrier=false",
  ]);
  assertEquals(selectNodeAddresses(host), ["10.1.0.1", "192.0.2.10"]);
});

Deno.test("netlinkHostAddresses() uses the fallback only when netlink cannot be opened", async () => {
  const fallback: HostAddressSource = {
    addresses: () =>
      Promise.resolve([{
        address: "192.0.2.99/24",
        link: "eth0",
        scope: "global",
        linkState: { operational: true, physical: false, carrier: true },
      }]),
  };
  const errors: unknown[] = [];
  const missing = "/nonexistent/edgespan-netns";
  const got = await netlinkHostAddresses({
    netns: missing,
    fallback,
    onFallback: (e) => errors.push(e),
  }).addresses();
  assertEquals(got.map((a) => a.address), ["192.0.2.99/24"]);
  assertEquals(errors.length, 1);
  await assertRejects(() =>
    netlinkHostAddresses({ netns: missing }).addresses()
  );
});

Deno.test({
  name:
    "netlinkHostAddresses() in a netns: addresses of links that are not running are no node addresses",
  ignore: reason !== undefined,
  fn: () =>
    withNetns("hostaddr", async (ns) => {
      const ip = (...args: string[]) => runOk("ip", ["-n", ns, ...args]);
      // va is up but its peer vb is down: no carrier, not running.
      await ip("link", "add", "va", "type", "veth", "peer", "name", "vb");
      await ip("link", "set", "va", "up");
      await ip("address", "add", "10.60.0.1/24", "dev", "va");
      // vc/vd both up: running.
      await ip("link", "add", "vc", "type", "veth", "peer", "name", "vd");
      await ip("link", "set", "vc", "up");
      await ip("link", "set", "vd", "up");
      await ip("address", "add", "10.70.0.1/24", "dev", "vc");
      await ip("address", "add", "10.50.0.1/24", "dev", "vc");
      await ip("address", "add", "2001:db8:70::1/64", "dev", "vc", "nodad");
      // Admin-down link with an address.
      await ip("link", "add", "ve", "type", "veth", "peer", "name", "vf");
      await ip("address", "add", "10.80.0.1/24", "dev", "ve");

      const host = await netlinkHostAddresses({ netns: ns }).addresses();
      const va = host.find((a) => a.address === "10.60.0.1/24");
      assertEquals(va?.linkState, {
        operational: false,
        physical: false,
        carrier: false,
      });
      const vc = host.find((a) => a.address === "10.70.0.1/24");
      assertEquals(vc?.linkState, {
        operational: true,
        physical: false,
        carrier: true,
      });
      assertEquals(selectNodeAddresses(host), [
        "10.50.0.1",
        "10.70.0.1",
        "2001:db8:70::1",
      ]);
    }),
});
