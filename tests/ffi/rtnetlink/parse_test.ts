/** Parsers fed replies captured from the host kernel (see fixtures/capture.ts). */
import {
  parseAddress,
  parseLink,
  parseRoute,
  parseRule,
} from "../../../ffi/rtnetlink/mod.ts";
import { checkReplies } from "../../../ffi/netlink/conn.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";
import { loadFixture } from "../_fixtures.ts";

async function replies(name: string) {
  return checkReplies("fixture", await loadFixture(name));
}

Deno.test("parseLink reads name, kind, MAC, MTU and flags", async () => {
  const links = (await replies("links.hex")).map(parseLink);
  const va = links.find((l) => l.name === "va");
  assertEquals(links.map((l) => l.name).sort(), ["lo", "va", "vb"]);
  assertEquals(
    [va?.kind, va?.mac, va?.mtu, va?.up],
    ["veth", "02:00:00:00:00:01", 1400, true],
  );
  assertEquals(links.find((l) => l.name === "lo")?.kind, "");
});

Deno.test("parseLink reads the link type (ARPHRD)", async () => {
  const links = (await replies("links.hex")).map(parseLink);
  assertEquals(
    links.map((l) => `${l.name} ${l.type}`).sort(),
    ["lo 772", "va 1", "vb 1"],
  );
});

Deno.test("parseAddress reads IPv4 and IPv6 addresses", async () => {
  const addrs = (await replies("addresses.hex")).map(parseAddress).map((a) =>
    a?.address
  );
  assert(addrs.includes("10.9.0.1/24"), String(addrs));
  assert(addrs.includes("fd00::1/64"), String(addrs));
  assert(addrs.includes("127.0.0.1/8"), String(addrs));
});

Deno.test("parseRule reads the fwmark rule", async () => {
  const rules = (await replies("rules_v4.hex")).map(parseRule);
  const r = rules.find((x) => x?.priority === 32500);
  assertEquals(r, {
    family: 4,
    priority: 32500,
    table: 180,
    action: 1,
    fwmark: 0x40,
    fwmask: 0x60,
  });
  assertEquals(rules.map((x) => x?.priority), [0, 32500, 32766, 32767]);
});

Deno.test("parseRoute reads table 180 routes with metric and MTU", async () => {
  const routes = (await replies("routes.hex")).map(parseRoute).filter((r) =>
    r?.table === 180
  );
  assertEquals(
    routes.map((
      r,
    ) => [r?.family, r?.destination, r?.metric, r?.mtu, r?.protocol]),
    [[4, "0.0.0.0/0", 1, 1380, 3], [6, "::/0", 1, 1380, 3]],
  );
});
