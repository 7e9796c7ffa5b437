/** nftables against the host kernel, each test in its own netns, cross-checked with `nft -j`. */
import {
  meshTableSpec,
  Nftables,
  type NftTableSpec,
} from "../../../ffi/nftables/mod.ts";
import { NotFoundError } from "../../../ffi/netlink/errors.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "../../_tools/assert.ts";
import {
  canUseNetns,
  nftJson,
  run,
  runOk,
  withNetns,
} from "../../_tools/netns.ts";

const netnsReason = await canUseNetns();
const nftMissing = (await run("nft", ["--version"])).code === 0
  ? undefined
  : "nft is not installed";
const reason = netnsReason ?? nftMissing;
if (reason) console.log(`skipping nftables netns tests: ${reason}`);

type J = Record<string, unknown>;

async function withNft(
  prefix: string,
  fn: (nft: Nftables, ns: string) => Promise<void>,
) {
  await withNetns(prefix, async (ns) => {
    const nft = await Nftables.open({ netns: ns });
    try {
      await fn(nft, ns);
    } finally {
      nft.close();
    }
  });
}

const MESH = {
  name: "edgespan",
  routedIPv4: ["10.5.0.0/16", "10.5.1.0/24", "192.168.7.9/32", "10.6.0.0/16"],
  routedIPv6: ["fd00:1::/48", "2001:db8::1/128"],
  mssIPv4: 1368,
  mssIPv6: 1348,
  firewallMark: 0x20,
  forceFirewallMark: 0x40,
  firewallMask: 0x60,
};

Deno.test({
  name:
    "Nftables.replaceTable writes the mesh table; nft -j and readTable agree",
  ignore: reason !== undefined,
  fn: () =>
    withNft("nftmesh", async (nft, ns) => {
      await nft.replaceTable(meshTableSpec(MESH));
      const items = await nftJson(ns);
      const sets = items.filter((i) => i.set).map((i) => i.set as J);
      assertEquals(sets.map((s) => [s.name, s.type, s.flags]), [
        ["routed_ipv4", "ipv4_addr", ["interval"]],
        ["routed_ipv6", "ipv6_addr", ["interval"]],
      ]);
      const chains = items.filter((i) => i.chain).map((i) => i.chain as J);
      assertEquals(
        chains.map((c) => [c.name, c.type, c.hook, c.prio, c.policy]),
        [
          ["kubespan_prerouting", "filter", "prerouting", 0, "accept"],
          ["kubespan_outgoing", "route", "output", 0, "accept"],
        ],
      );
      const text = await runOk("ip", [
        "netns",
        "exec",
        ns,
        "nft",
        "list",
        "table",
        "inet",
        "edgespan",
      ]);
      assertStringIncludes(text, "meta mark & 0x00000060 == 0x00000020 accept");
      assertStringIncludes(text, 'oifname "lo" accept');
      assertStringIncludes(
        text,
        "ip daddr @routed_ipv4 meta mark set meta mark & 0xffffffdf | 0x00000040 accept",
      );
      assertStringIncludes(
        text,
        "tcp option maxseg size > 1368 tcp option maxseg size set 1368",
      );
      assertStringIncludes(
        text,
        "ip6 daddr @routed_ipv6 tcp flags syn / syn,rst tcp option maxseg size > 1348",
      );
      assertStringIncludes(text, "10.5.0.0-10.6.255.255, 192.168.7.9");

      const back = await nft.readTable("inet", "edgespan");
      assertEquals(back.sets.map((s) => s.elements), [
        ["10.5.0.0/16", "10.6.0.0/16", "192.168.7.9/32"],
        ["2001:db8::1/128", "fd00:1::/48"],
      ]);
      assertEquals(back.chains.map((c) => c.rules.length), [3, 6]);
      const rulesJ = items.filter((i) => i.rule).length;
      assertEquals(rulesJ, 9);
    }),
});

Deno.test({
  name:
    "Nftables.replaceTable with anonymous sets, replaced again without leftovers",
  ignore: reason !== undefined,
  fn: () =>
    withNft("nftanon", async (nft, ns) => {
      await nft.replaceTable(meshTableSpec({ ...MESH, anonymousSets: true }));
      const text = await runOk("ip", [
        "netns",
        "exec",
        ns,
        "nft",
        "list",
        "table",
        "inet",
        "edgespan",
      ]);
      assertStringIncludes(
        text,
        "ip6 daddr { 2001:db8::1, fd00:1::/48 } meta mark set",
      );
      await nft.replaceTable(meshTableSpec({ ...MESH, routedIPv6: [] }));
      const items = await nftJson(ns);
      assertEquals(items.filter((i) => i.rule).length, 6);
      assertEquals(items.filter((i) => i.set).map((i) => (i.set as J).name), [
        "routed_ipv4",
      ]);
    }),
});

Deno.test({
  name:
    "a bad nft batch is rolled back as a whole and names the failing message",
  ignore: reason !== undefined,
  fn: () =>
    withNft("nftbad", async (nft, ns) => {
      await nft.replaceTable(meshTableSpec(MESH));
      const bad: NftTableSpec = {
        family: "inet",
        name: "edgespan",
        chains: [{
          name: "c",
          rules: [{ exprs: [{ kind: "lookup", set: "missing" }] }],
        }],
      };
      const err = await assertRejects(
        () => nft.replaceTable(bad),
        NotFoundError,
      );
      assertStringIncludes(err.message, 'add rule #1 to chain "c"');
      // the old table is intact
      const back = await nft.readTable("inet", "edgespan");
      assertEquals(back.chains.map((c) => c.name), [
        "kubespan_prerouting",
        "kubespan_outgoing",
      ]);
      // a failing first-time batch leaves no table behind
      const err2 = await assertRejects(
        () => nft.replaceTable({ ...bad, name: "fresh" }),
        NotFoundError,
      );
      assert(err2.errno === 2);
      assertEquals(await nft.hasTable("inet", "fresh"), false);
      const names = (await nftJson(ns)).filter((i) => i.table).map((i) =>
        (i.table as J).name
      );
      assertEquals(names, ["edgespan"]);
    }),
});

Deno.test({
  name: "Nftables.deleteTable, readTable of a missing table, and live counters",
  ignore: reason !== undefined,
  fn: () =>
    withNft("nftdel", async (nft, ns) => {
      await nft.replaceTable({
        family: "inet",
        name: "probe",
        chains: [{
          name: "out",
          type: "filter",
          hook: "output",
          rules: [{
            exprs: [
              { kind: "meta", key: "oifname" },
              {
                kind: "cmp",
                op: "eq",
                data: new TextEncoder().encode(
                  "lo\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
                ),
              },
              { kind: "counter" },
            ],
          }],
        }],
      });
      await runOk("ip", [
        "netns",
        "exec",
        ns,
        "busybox",
        "ping",
        "-c",
        "1",
        "-W",
        "1",
        "127.0.0.1",
      ]);
      const back = await nft.readTable("inet", "probe");
      assert(
        (back.chains[0]?.rules[0]?.packets ?? 0) >= 1,
        JSON.stringify(back),
      );
      await nft.deleteTable("inet", "probe");
      await nft.deleteTable("inet", "probe"); // ifExists by default
      await assertRejects(
        () => nft.deleteTable("inet", "probe", { ifExists: false }),
        NotFoundError,
      );
      await assertRejects(() => nft.readTable("inet", "probe"), NotFoundError);
    }),
});
