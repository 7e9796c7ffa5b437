import {
  NetlinkClient,
  NetlinkSocket,
  Protocol,
} from "../../../ffi/netlink/mod.ts";
import { NotFoundError } from "../../../ffi/netlink/errors.ts";
import {
  encodeGetLinks,
  encodeRoute,
  parseLink,
} from "../../../ffi/rtnetlink/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "../../_tools/assert.ts";
import { addVeth, canUseNetns, runOk, withNetns } from "../../_tools/netns.ts";

const reason = await canUseNetns();
if (reason) console.log(`skipping netlink socket tests: ${reason}`);

Deno.test({
  name: "NetlinkSocket.open({ netns }) binds inside that netns and returns",
  ignore: reason !== undefined,
  fn: () =>
    withNetns("nlsock", async (ns) => {
      await runOk("ip", [
        "-n",
        ns,
        "link",
        "add",
        "nsx",
        "type",
        "veth",
        "peer",
        "name",
        "nsy",
      ]);
      const inNs = new NetlinkClient(
        await NetlinkSocket.open(Protocol.ROUTE, { netns: ns }),
      );
      try {
        const names = (await inNs.dump("list", encodeGetLinks())).map((m) =>
          parseLink(m).name
        );
        assertEquals(names.sort(), ["lo", "nsx", "nsy"]);
      } finally {
        inNs.close();
      }
      // the thread is back in the original netns
      const self = await Deno.readLink("/proc/thread-self/ns/net");
      const init = await Deno.readLink(`/proc/${Deno.pid}/ns/net`);
      assertEquals(self, init);
    }),
});

Deno.test({
  name: "NetlinkSocket.open rejects a missing netns with NotFoundError",
  ignore: reason !== undefined,
  fn: async () => {
    await assertRejects(
      () =>
        NetlinkSocket.open(Protocol.ROUTE, { netns: "edgespan-no-such-ns" }),
      NotFoundError,
      "edgespan-no-such-ns",
    );
  },
});

Deno.test({
  name: "NetlinkSocket.receiveAsync() resolves [] after the receive timeout",
  ignore: reason !== undefined,
  fn: async () => {
    const s = await NetlinkSocket.open(Protocol.ROUTE, {
      receiveTimeoutMs: 100,
    });
    try {
      const t0 = performance.now();
      const got = await s.receiveAsync();
      const ms = performance.now() - t0;
      assertEquals(got, []);
      assert(ms >= 80 && ms < 2000, `waited ${ms} ms`);
    } finally {
      s.close();
    }
  },
});

Deno.test({
  name:
    "NetlinkClient.batch sends 600 requests in chunks and reports the failing one",
  ignore: reason !== undefined,
  fn: () =>
    withNetns("nlbatch", async (ns) => {
      await addVeth(ns, "b0", "b1");
      const idx = Number(
        (await runOk("ip", ["-n", ns, "-j", "link", "show", "b0"])).match(
          /"ifindex":(\d+)/,
        )?.[1],
      );
      const s = new NetlinkClient(
        await NetlinkSocket.open(Protocol.ROUTE, { netns: ns }),
      );
      try {
        const msgs = Array.from(
          { length: 600 },
          (_, i) =>
            encodeRoute("add", {
              destination: `10.${i >> 8}.${i & 255}.0/24`,
              ifindex: idx,
              table: 180,
            }),
        );
        await s.batch((i) => `add route #${i}`, msgs);
        const out = await runOk("ip", [
          "-n",
          ns,
          "route",
          "show",
          "table",
          "180",
        ]);
        assertEquals(out.trim().split("\n").length, 600);
        // the same again: every add fails with EEXIST, reported for the first
        const err = await assertRejects(() =>
          s.batch((i) => `add route #${i}`, msgs.slice(0, 3))
        );
        assertStringIncludes(err.message, "add route #0");
        assertStringIncludes(err.message, "EEXIST");
      } finally {
        s.close();
      }
    }),
});
