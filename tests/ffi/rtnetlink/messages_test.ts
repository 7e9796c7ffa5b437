/** Golden bytes of every rtnetlink request we send, checked against the uapi layout. */
import {
  encodeAddress,
  encodeDelLink,
  encodeNewLink,
  encodeNewVeth,
  encodeRoute,
  encodeRule,
  encodeSetLink,
} from "../../../ffi/rtnetlink/mod.ts";
import { assertEquals, assertThrows } from "../../_tools/assert.ts";
import { toHex } from "../_fixtures.ts";

const HDR = (len: string, type: string, flags: string) =>
  `${len}000000${type}00${flags}0000000000000000`;
const IFINFO0 = "00000000000000000000000000000000";

Deno.test("RTM_NEWLINK kind wireguard", () => {
  assertEquals(
    toHex(encodeNewLink("wg0", "wireguard")),
    HDR("3c", "10", "0106") + IFINFO0 + "0800030077673000" +
      "14001280" + "0e000100776972656775617264000000",
  );
});

Deno.test("RTM_NEWLINK veth pair, with and without the peer netns fd", () => {
  assertEquals(
    toHex(encodeNewVeth("va", "vb")),
    HDR("58", "10", "0106") + IFINFO0 + "0700030076610000" +
      "30001280" + "090001007665746800000000" + "20000280" + "1c000180" +
      IFINFO0 +
      "0700030076620000",
  );
  assertEquals(
    toHex(encodeNewVeth("va", "vb", 7)).slice(-32),
    "0700030076620000" + "08001c0007000000",
  );
});

Deno.test("RTM_DELLINK and RTM_NEWLINK set up + mtu", () => {
  assertEquals(
    toHex(encodeDelLink("va")),
    HDR("28", "11", "0100") + IFINFO0 + "0700030076610000",
  );
  assertEquals(
    toHex(encodeSetLink("va", { up: true, mtu: 1420 })),
    HDR("30", "10", "0100") + "0000000000000000" + "01000000" + "01000000" +
      "0700030076610000" + "080004008c050000",
  );
});

Deno.test("RTM_NEWADDR IPv6 (nodad, permanent) and RTM_DELADDR IPv4", () => {
  assertEquals(
    toHex(encodeAddress("add", 3, "fd00::1/64")),
    HDR("48", "14", "0106") + "0a40820003000000" +
      "14000200fd000000000000000000000000000001" +
      "14000100fd000000000000000000000000000001" + "0800080082000000",
  );
  assertEquals(
    toHex(encodeAddress("delete", 3, "10.9.0.1/24")),
    HDR("28", "15", "0100") + "0218800003000000" + "080002000a090001" +
      "080001000a090001",
  );
});

Deno.test("RTM_NEWRULE fwmark 0x40/0x60 lookup 180 priority 32500", () => {
  assertEquals(
    toHex(
      encodeRule("add", {
        family: 4,
        priority: 32500,
        table: 180,
        fwmark: 0x40,
        fwmask: 0x60,
      }),
    ),
    HDR("3c", "20", "0106") + "02000000b4000001" + "00000000" +
      "08000600f47e0000" +
      "08000f00b4000000" + "08000a0040000000" + "0800100060000000",
  );
});

Deno.test("RTM_NEWROUTE default table 180 metric 1 mtu 1380; RTM_DELROUTE IPv6", () => {
  assertEquals(
    toHex(
      encodeRoute("add", {
        destination: "0.0.0.0/0",
        ifindex: 3,
        table: 180,
        metric: 1,
        mtu: 1380,
      }),
    ),
    HDR("40", "18", "0106") + "02000000b404fd01" + "00000000" +
      "08000f00b4000000" +
      "0800040003000000" + "0800060001000000" + "0c000880" + "0800020064050000",
  );
  assertEquals(
    toHex(
      encodeRoute("delete", {
        destination: "fd00:1::5/48",
        ifindex: 3,
        table: 180,
        metric: 1,
      }),
    ),
    HDR("48", "19", "0100") + "0a300000b404fd01" + "00000000" +
      "08000f00b4000000" +
      "14000100fd000001000000000000000000000000" + "0800040003000000" +
      "0800060001000000",
  );
});

Deno.test("RTM_NEWROUTE carries the requested scope (global for the mesh default route)", () => {
  const route = {
    destination: "0.0.0.0/0",
    ifindex: 3,
    table: 180,
    metric: 1,
  };
  // rtmsg byte 6 is the scope: 0x00 universe (global), 0xfd link.
  const scopeByte = (m: Uint8Array) => m[16 + 6];
  assertEquals(scopeByte(encodeRoute("add", { ...route, scope: "global" })), 0);
  assertEquals(scopeByte(encodeRoute("add", route)), 0xfd);
  assertEquals(
    scopeByte(encodeRoute("add", { ...route, gateway: "192.0.2.1" })),
    0,
  );
});

Deno.test("interface names are checked before anything is sent", () => {
  assertThrows(
    () => encodeNewLink("a-name-that-is-too-long", "veth"),
    TypeError,
    "1 to 15 bytes",
  );
  assertThrows(() => encodeDelLink(""), TypeError);
  assertThrows(() => encodeNewVeth("ok0", "bad/name"), TypeError);
});
