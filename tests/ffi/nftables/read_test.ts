/** Read-back parsers fed replies captured from the host kernel (table written by `nft -f`). */
import {
  elementsText,
  parseChain,
  parseRule,
  parseSet,
  parseSetElements,
} from "../../../ffi/nftables/mod.ts";
import { checkReplies } from "../../../ffi/netlink/conn.ts";
import { assertEquals } from "../../_tools/assert.ts";
import { loadFixture } from "../_fixtures.ts";

const replies = async (name: string) =>
  checkReplies("fixture", await loadFixture(name));

Deno.test("parseChain reads a base chain", async () => {
  assertEquals((await replies("nft_chains.hex")).map(parseChain), [
    {
      name: "out",
      rules: [],
      hook: "output",
      priority: 0,
      policy: "accept",
      type: "route",
    },
  ]);
});

Deno.test("parseSet and parseSetElements rebuild interval sets as prefixes", async () => {
  const sets = (await replies("nft_sets.hex")).map(parseSet);
  assertEquals(sets.map((s) => [s.name, s.type, s.interval, s.keyLen]), [
    ["t4", "ipv4_addr", true, 4],
    ["t6", "ipv6_addr", true, 16],
  ]);
  const e4 = parseSetElements(await replies("nft_setelems_t4.hex"));
  assertEquals(elementsText(sets[0]!, e4), ["10.5.0.0/16", "192.168.7.9/32"]);
  const e6 = parseSetElements(await replies("nft_setelems_t6.hex"));
  assertEquals(elementsText(sets[1]!, e6), ["fd00:1::/48"]);
});

Deno.test("parseRule lists expressions, the looked-up set and counters", async () => {
  const [r] = (await replies("nft_rules.hex")).map(parseRule);
  assertEquals(r?.chain, "out");
  assertEquals(r?.rule.exprs, [
    "meta",
    "cmp",
    "payload",
    "lookup t4",
    "meta",
    "bitwise",
    "meta",
    "counter",
    "immediate",
  ]);
  assertEquals([r?.rule.packets, r?.rule.bytes], [0, 0]);
});
