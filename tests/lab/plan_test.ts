import { assert, assertEquals } from "../_tools/assert.ts";
import { planLab, planNamespaces, routerRuleset } from "./plan.ts";
import { boxPairs, scenarioById, SCENARIOS } from "./scenarios.ts";

function inDocumentationRanges(address: string): boolean {
  const host = address.split("/")[0]!;
  return host.startsWith("198.51.100.") || host.startsWith("203.0.113.") ||
    host.startsWith("2001:db8:");
}

Deno.test("planLab() puts every public address in a documentation range", () => {
  for (const s of SCENARIOS) {
    const plan = planLab(s, "0a1b2c3d");
    const publics = [
      plan.internet.v4,
      plan.internet.v6,
      plan.internet.discovery.split(":")[0]!,
      ...plan.sites.flatMap((site) => [
        site.wan4,
        site.renumberedWan4,
        ...(site.wan6 ? [site.wan6] : []),
        ...(site.lan6 ? [site.lan6] : []),
        ...(site.spec.router === "open" ? [site.lan4] : []),
      ]),
    ];
    for (const a of publics) {
      assert(inDocumentationRanges(a), `scenario ${s.id}: ${a} is public`);
    }
    for (const site of plan.sites) {
      if (site.spec.router !== "open") {
        assert(site.lan4.startsWith("10."), `${site.lan4} is private`);
      }
    }
  }
});

Deno.test("planLab() names are unique, carry the suffix and fit Linux limits", () => {
  for (const s of SCENARIOS) {
    const plan = planLab(s, "0a1b2c3d");
    const ns = planNamespaces(plan);
    assertEquals(new Set(ns).size, ns.length);
    for (const n of ns) assert(n.includes("0a1b2c3d"), n);
    const wg = plan.sites.flatMap((x) => x.boxes.map((b) => b.wgName));
    assertEquals(new Set(wg).size, wg.length);
    for (const w of wg) assert(w.length <= 15 && w.includes("0a1b2c3d"), w);
  }
});

Deno.test("planLab() scenario 4: one LAN, distinct ports; scenario 5: both 51820", () => {
  const four = planLab(scenarioById("4"), "00000000").sites[1]!;
  assertEquals(four.boxes.map((b) => [b.v4, b.listenPort]), [
    ["10.2.0.11/24", 51820],
    ["10.2.0.12/24", 51821],
  ]);
  const five = planLab(scenarioById("5"), "00000000").sites[1]!;
  assertEquals(five.boxes.map((b) => b.listenPort), [51820, 51820]);
  const open = planLab(scenarioById("4"), "00000000").sites[0]!;
  assertEquals(
    [open.lan4, open.lan4Router, open.boxes[0]!.v4],
    ["203.0.113.16/28", "203.0.113.17/28", "203.0.113.18/28"],
  );
});

Deno.test("routerRuleset() cone: masquerade, replies only, unsolicited dropped", () => {
  const site = planLab(scenarioById("2"), "00000000").sites[0]!;
  assertEquals(
    routerRuleset(site),
    `table inet lab {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan0" ct state established,related accept
    iifname "wan0" meta l4proto { icmp, ipv6-icmp } accept
    iifname "wan0" drop
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan0" oifname "wan0" accept
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" ip saddr 10.1.0.0/24 masquerade
  }
}
`,
  );
});

Deno.test("routerRuleset() symmetric randomises ports; open lets UDP 51820 in", () => {
  const sym = planLab(scenarioById("6"), "00000000").sites[0]!;
  assert(
    routerRuleset(sym).includes(
      `oifname "wan0" ip saddr 10.1.0.0/24 masquerade random,fully-random\n`,
    ),
  );
  const open = routerRuleset(planLab(scenarioById("1"), "0").sites[0]!);
  assert(
    open.includes(`iifname "wan0" oifname "lan0" udp dport 51820 accept`),
  );
  assert(!open.includes("masquerade"), "an open site does no NAT");
});

Deno.test("boxPairs() lists every unordered pair once", () => {
  assertEquals(boxPairs(scenarioById("4")), [
    ["cp", "w1"],
    ["cp", "w2"],
    ["w1", "w2"],
  ]);
});
