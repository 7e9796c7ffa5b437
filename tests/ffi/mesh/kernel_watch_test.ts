/**
 * `meshEventReason` on encoded messages, then `KernelWatch` in a netns:
 * changes to the mesh's nft table, link, table-180 routes and rules, and
 * global addresses off the mesh address, wake a pass; other tables and
 * links, and the mesh address, do not.
 */
import {
  KernelWatch,
  meshEventReason,
  type WatchScope,
} from "../../../ffi/mesh/kernel_watch.ts";
import { parseMessages } from "../../../ffi/netlink/message.ts";
import { nfMessage } from "../../../ffi/nftables/batch.ts";
import { NFT_MSG, TABLE_A } from "../../../ffi/nftables/constants.ts";
import { encodeAddress } from "../../../ffi/rtnetlink/address.ts";
import { encodeDelLink } from "../../../ffi/rtnetlink/link.ts";
import { encodeRoute } from "../../../ffi/rtnetlink/route.ts";
import { encodeRule } from "../../../ffi/rtnetlink/rule.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";
import { canUseNetns, run, runOk, withNetns } from "../../_tools/netns.ts";

const SCOPE: WatchScope = {
  link: "wgm0",
  nftTable: "edgespan",
  routingTable: 180,
  rulePriority: 32500,
};

const one = (bytes: Uint8Array) => parseMessages(bytes)[0]!;

Deno.test("meshEventReason: nft events of the mesh table only", () => {
  const table = (type: number, name: string) =>
    one(nfMessage(type, 0, "inet", (e) => e.attrString(TABLE_A.NAME, name)));
  assertEquals(
    meshEventReason(table(NFT_MSG.DELTABLE, "edgespan"), "netfilter", SCOPE),
    'nft table "edgespan": table deleted',
  );
  assertEquals(
    meshEventReason(table(NFT_MSG.NEWRULE, "edgespan"), "netfilter", SCOPE),
    'nft table "edgespan": new rule',
  );
  assertEquals(
    meshEventReason(table(NFT_MSG.DELTABLE, "probe"), "netfilter", SCOPE),
    undefined,
  );
  // a GET is a request, not an event
  assertEquals(
    meshEventReason(table(NFT_MSG.GETTABLE, "edgespan"), "netfilter", SCOPE),
    undefined,
  );
});

Deno.test("meshEventReason: the mesh link, table-180 routes and the rule priority", () => {
  assertEquals(
    meshEventReason(one(encodeDelLink("wgm0")), "route", SCOPE),
    'link "wgm0" deleted',
  );
  assertEquals(
    meshEventReason(one(encodeDelLink("eth0")), "route", SCOPE),
    undefined,
  );
  const route = (table: number) =>
    one(
      encodeRoute("delete", { destination: "0.0.0.0/0", ifindex: 7, table }),
    );
  assertEquals(
    meshEventReason(route(180), "route", SCOPE),
    "route 0.0.0.0/0 removed from table 180",
  );
  assertEquals(meshEventReason(route(254), "route", SCOPE), undefined);
  const rule = (priority: number) =>
    one(encodeRule("delete", { family: 4, priority, table: 180 }));
  assertEquals(
    meshEventReason(rule(32500), "route", SCOPE),
    "rule 32500 removed",
  );
  assertEquals(meshEventReason(rule(100), "route", SCOPE), undefined);
  // garbage is ignored, not thrown
  assertEquals(
    meshEventReason(
      { type: 17, flags: 0, seq: 0, pid: 0, payload: new Uint8Array(2) },
      "route",
      SCOPE,
    ),
    undefined,
  );
});

Deno.test("meshEventReason: global addresses other than the mesh address", () => {
  const scope = { ...SCOPE, meshAddress: "fd7f:175a:b97c:5602::1/64" };
  assertEquals(
    meshEventReason(
      one(encodeAddress("add", 3, "10.99.0.117/24")),
      "route",
      scope,
    ),
    "address 10.99.0.117/24 added (node addresses may have changed)",
  );
  assertEquals(
    meshEventReason(
      one(encodeAddress("delete", 3, "10.99.0.17/24")),
      "route",
      scope,
    ),
    "address 10.99.0.17/24 removed (node addresses may have changed)",
  );
  // the agent's own mesh address, whatever the length
  assertEquals(
    meshEventReason(
      one(encodeAddress("add", 9, "fd7f:175a:b97c:5602::1/128")),
      "route",
      scope,
    ),
    undefined,
  );
  // a link-scope address (ifaddrmsg byte 3 is the scope) is never an endpoint
  const linkScope = one(encodeAddress("add", 3, "fe80::1/64"));
  linkScope.payload[3] = 253;
  assertEquals(meshEventReason(linkScope, "route", scope), undefined);
});

const reason = (await canUseNetns()) ??
  ((await run("nft", ["--version"])).code === 0
    ? undefined
    : "nft is not installed");
if (reason) console.log(`skipping KernelWatch netns test: ${reason}`);

Deno.test({
  name:
    "KernelWatch wakes on changes to the mesh table, link and rules, not on others",
  ignore: reason !== undefined,
  fn: () =>
    withNetns("kwatch", async (ns) => {
      const reasons: string[] = [];
      const watch = await KernelWatch.open(SCOPE, {
        wake: (r) => reasons.push(r),
        netns: ns,
        pollMs: 100,
      });
      const settle = () => new Promise((r) => setTimeout(r, 300));
      const nft = (cmd: string) =>
        runOk("ip", ["netns", "exec", ns, "nft", ...cmd.split(" ")]);
      try {
        await nft("add table inet probe");
        await runOk("ip", [
          "-n",
          ns,
          "link",
          "add",
          "x0",
          "type",
          "veth",
          "peer",
          "name",
          "x1",
        ]);
        await settle();
        assertEquals(reasons, [], "other tables and links");
        await nft("add table inet edgespan");
        await settle();
        assertEquals(reasons, ['nft table "edgespan": new table']);
        await nft("delete table inet edgespan");
        await runOk("ip", [
          "-n",
          ns,
          "rule",
          "add",
          "fwmark",
          "0x40/0x60",
          "lookup",
          "180",
          "priority",
          "32500",
        ]);
        await runOk("ip", ["-n", ns, "rule", "del", "priority", "32500"]);
        await settle();
        assert(
          reasons.includes('nft table "edgespan": table deleted'),
          reasons.join("; "),
        );
        assert(reasons.includes("rule 32500 removed"), reasons.join("; "));
        reasons.length = 0;
        await runOk("ip", [
          "-n",
          ns,
          "addr",
          "add",
          "192.0.2.7/24",
          "dev",
          "x0",
        ]);
        await settle();
        assertEquals(reasons, [
          "address 192.0.2.7/24 added (node addresses may have changed)",
        ]);
      } finally {
        const t = performance.now();
        await watch.close();
        assert(performance.now() - t < 1000, "close is quick");
      }
    }),
});
