/**
 * `tableDrift`: pure cases on read-back data, then the real kernel in a
 * netns: a freshly written mesh table verifies clean, and deletions and
 * edits made with `nft` are found.
 */
import {
  meshTableSpec,
  Nftables,
  type NftReadTable,
  type NftTableSpec,
  tableDrift,
} from "../../../ffi/nftables/mod.ts";
import { assertEquals } from "../../_tools/assert.ts";
import { canUseNetns, run, runOk, withNetns } from "../../_tools/netns.ts";

const MESH = {
  name: "edgespan",
  routedIPv4: ["10.5.0.0/16", "10.5.1.0/24", "192.168.7.9/32", "10.6.0.0/16"],
  routedIPv6: ["fd00:1::/48"],
  mssIPv4: 1368,
  mssIPv6: 1348,
  firewallMark: 0x20,
  forceFirewallMark: 0x40,
  firewallMask: 0x60,
};

const SPEC: NftTableSpec = {
  family: "inet",
  name: "t",
  sets: [{
    name: "s4",
    type: "ipv4_addr",
    elements: ["10.0.0.0/8", "10.1.0.0/16"],
  }],
  chains: [{
    name: "out",
    type: "route",
    hook: "output",
    priority: 0,
    policy: "accept",
    rules: [{
      exprs: [
        { kind: "payload", base: "network", offset: 16, len: 4 },
        { kind: "lookup", set: "s4" },
        { kind: "verdict", verdict: "accept" },
      ],
    }],
  }],
};

function read(over: Partial<NftReadTable> = {}): NftReadTable {
  return {
    family: "inet",
    name: "t",
    sets: [{
      name: "s4",
      type: "ipv4_addr",
      interval: true,
      anonymous: false,
      elements: ["10.0.0.0/8"],
    }],
    chains: [{
      name: "out",
      type: "route",
      hook: "output",
      priority: 0,
      policy: "accept",
      rules: [{
        handle: 3,
        exprs: ["payload", "lookup s4", "immediate"],
        packets: 9,
        bytes: 900,
      }],
    }],
    ...over,
  };
}

Deno.test("tableDrift: the same table (merged set, counters ignored) has no drift", () => {
  assertEquals(tableDrift(SPEC, read()), []);
});

Deno.test("tableDrift names a missing table, chain, rule, element and a foreign chain", () => {
  assertEquals(tableDrift(SPEC, undefined), ["table inet t is missing"]);
  assertEquals(tableDrift(SPEC, read({ chains: [] })), [
    'chain "out" is missing',
  ]);
  const base = read();
  const chain = base.chains[0]!;
  assertEquals(
    tableDrift(SPEC, read({ chains: [{ ...chain, rules: [] }] })),
    ['chain "out" has 0 rules, want 1'],
  );
  assertEquals(
    tableDrift(
      SPEC,
      read({ sets: [{ ...base.sets[0]!, elements: ["10.0.0.0/9"] }] }),
    ),
    ['chain "out" rule #1 differs'],
  );
  assertEquals(
    tableDrift(
      SPEC,
      read({
        chains: [{ ...chain, policy: "drop" }, { name: "x", rules: [] }],
      }),
    ),
    [
      'chain "out" is "route hook output priority 0 policy drop", want "route hook output priority 0 policy accept"',
      'chain "x" is not ours',
    ],
  );
});

Deno.test("tableDrift compares anonymous sets by contents, not by kernel name", () => {
  const spec: NftTableSpec = {
    ...SPEC,
    sets: [{ ...SPEC.sets![0]!, anonymous: true }],
  };
  const r = read({
    sets: [{ ...read().sets[0]!, name: "__set0", anonymous: true }],
  });
  r.chains[0]!.rules[0]!.exprs[1] = "lookup __set0";
  assertEquals(tableDrift(spec, r), []);
});

const reason = (await canUseNetns()) ??
  ((await run("nft", ["--version"])).code === 0
    ? undefined
    : "nft is not installed");
if (reason) console.log(`skipping nft verify netns test: ${reason}`);

Deno.test({
  name:
    "Nftables.verifyTable: the written mesh table verifies clean; nft edits and a delete are found",
  ignore: reason !== undefined,
  fn: () =>
    withNetns("nftverify", async (ns) => {
      const nft = await Nftables.open({ netns: ns });
      const nftIn = (cmd: string) =>
        runOk("ip", ["netns", "exec", ns, "nft", ...cmd.split(" ")]);
      try {
        // another table's chains, sets and rules are not part of ours (the
        // kernel's chain dump lists every table of the family)
        await nftIn("add table inet other");
        await nftIn(
          "add chain inet other post { type filter hook postrouting priority 100 ; }",
        );
        await nftIn("add set inet other s { type ipv4_addr ; }");
        await nftIn("add rule inet other post counter");
        for (const anonymousSets of [false, true]) {
          const spec = meshTableSpec({ ...MESH, anonymousSets });
          await nft.replaceTable(spec);
          assertEquals(
            await nft.verifyTable(spec),
            [],
            `anon ${anonymousSets}`,
          );
        }
        const spec = meshTableSpec(MESH);
        await nft.replaceTable(spec);
        await nftIn("delete element inet edgespan routed_ipv4 { 192.168.7.9 }");
        assertEquals(await nft.verifyTable(spec), [
          'chain "kubespan_prerouting" rule #2 differs',
          'chain "kubespan_outgoing" rule #3 differs',
          'chain "kubespan_outgoing" rule #5 differs',
        ]);
        await nft.replaceTable(spec);
        await nftIn("flush chain inet edgespan kubespan_outgoing");
        assertEquals(await nft.verifyTable(spec), [
          'chain "kubespan_outgoing" has 0 rules, want 6',
        ]);
        await nftIn("delete table inet edgespan");
        assertEquals(await nft.verifyTable(spec), [
          "table inet edgespan is missing",
        ]);
      } finally {
        nft.close();
      }
    }),
});
