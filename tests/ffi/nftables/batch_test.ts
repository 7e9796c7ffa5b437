import {
  encodeDeleteTable,
  encodeReplaceTable,
  meshTableSpec,
} from "../../../ffi/nftables/mod.ts";
import { assert, assertEquals, assertThrows } from "../../_tools/assert.ts";
import { toHex } from "../_fixtures.ts";

Deno.test("encodeReplaceTable golden bytes: batch, table x3, interval set, base chain, rule", () => {
  const tx = encodeReplaceTable({
    family: "inet",
    name: "t",
    sets: [{ name: "s4", type: "ipv4_addr", elements: ["10.0.0.0/8"] }],
    chains: [{
      name: "c",
      type: "filter",
      hook: "output",
      priority: -150,
      rules: [{
        exprs: [
          { kind: "meta", key: "nfproto" },
          { kind: "cmp", op: "eq", data: new Uint8Array([2]) },
          { kind: "payload", base: "network", offset: 16, len: 4 },
          { kind: "lookup", set: "s4" },
          { kind: "counter" },
          { kind: "verdict", verdict: "accept" },
        ],
      }],
    }],
  });
  const hex = tx.messages.map(toHex);
  assertEquals(hex, [
    // NFNL_MSG_BATCH_BEGIN, res_id = htons(NFNL_SUBSYS_NFTABLES)
    "140000001000010000000000000000000000000a",
    // NEWTABLE (create), DELTABLE, NEWTABLE: family inet (1)
    "1c000000000a05040000000000000000010000000600010074000000",
    "1c000000020a05000000000000000000010000000600010074000000",
    "1c000000000a05040000000000000000010000000600010074000000",
    // NEWSET s4: flags interval, key type 7 len 4, id 1 (all big-endian)
    "44000000090a05040000000000000000010000000600010074000000070002007334000008000300000000040800040000000007080005000000000408000a0000000001",
    // NEWSETELEM: 0.0.0.0 (end), 10.0.0.0 (start), 11.0.0.0 (end)
    "700000000c0a050400000000000000000100000006000100740000000700020073340000080004000000000144000380180001800c00018008000100000000000800030000000001100001800c000180080001000a000000180001800c000180080001000b0000000800030000000001",
    // NEWCHAIN c: hook output (3), priority -150, policy accept, type filter
    "4c000000030a05040000000000000000010000000600010074000000060003006300000014000480080001000000000308000200ffffff6a08000500000000010b00070066696c7465720000",
    // NEWRULE: meta nfproto, cmp eq 2, payload nh 16/4, lookup s4 (set id 1), counter, accept
    "1c010000060a050c00000000000000000100000006000100740000000600020063000000f800048024000180090001006d6574610000000014000280080002000000000f08000100000000012c00018008000100636d700020000280080001000000000108000200000000000c0003800500010002000000340001800c0001007061796c6f6164002400028008000100000000010800020000000001080003000000001008000400000000042c0001800b0001006c6f6f6b757000001c000280070001007334000008000200000000010800040000000001140001800c000100636f756e7465720004000280300001800e000100696d6d6564696174650000001c0002800800010000000000100002800c0002800800010000000001",
    // NFNL_MSG_BATCH_END
    "140000001100010000000000000000000000000a",
  ]);
  assertEquals(tx.descriptions[7], 'add rule #1 to chain "c"');
});

Deno.test("encodeDeleteTable ensures the table first only with ifExists", () => {
  assertEquals(encodeDeleteTable("inet", "t", true).messages.length, 4);
  assertEquals(encodeDeleteTable("inet", "t", false).messages.length, 3);
});

Deno.test("a non-interval set refuses prefixes", () => {
  assertThrows(
    () =>
      encodeReplaceTable({
        family: "inet",
        name: "t",
        sets: [{
          name: "s",
          type: "ipv4_addr",
          interval: false,
          elements: ["10.0.0.0/8"],
        }],
      }),
    TypeError,
    "single IPv4 addresses",
  );
});

Deno.test("meshTableSpec: rules per family, none for an empty family", () => {
  const base = {
    name: "edgespan",
    mssIPv4: 1368,
    mssIPv6: 1348,
    firewallMark: 0x20,
    forceFirewallMark: 0x40,
    firewallMask: 0x60,
  };
  const both = meshTableSpec({
    ...base,
    routedIPv4: ["10.0.0.0/8"],
    routedIPv6: ["fd00::/8"],
  });
  assertEquals(both.chains?.map((c) => c.rules.length), [3, 6]);
  assertEquals(both.sets?.map((s) => s.name), ["routed_ipv4", "routed_ipv6"]);
  const v4 = meshTableSpec({
    ...base,
    routedIPv4: ["10.0.0.0/8"],
    routedIPv6: [],
    anonymousSets: true,
  });
  assertEquals(v4.chains?.map((c) => c.rules.length), [2, 4]);
  assert(v4.sets?.every((s) => s.anonymous && s.type === "ipv4_addr"));
  assertEquals(v4.sets?.length, 3);
});
