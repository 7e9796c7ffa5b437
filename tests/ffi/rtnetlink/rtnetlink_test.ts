/** rtnetlink against the host kernel, each test in its own netns, cross-checked with `ip -j`. */
import { ExistsError, NotFoundError } from "../../../ffi/netlink/errors.ts";
import { type DesiredRouting, RtNetlink } from "../../../ffi/rtnetlink/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "../../_tools/assert.ts";
import { canUseNetns, ipJson, withNetns } from "../../_tools/netns.ts";

const reason = await canUseNetns();
if (reason) console.log(`skipping rtnetlink netns tests: ${reason}`);

type J = Record<string, unknown>;

async function withRt(
  prefix: string,
  fn: (rt: RtNetlink, ns: string) => Promise<void>,
) {
  await withNetns(prefix, async (ns) => {
    const rt = await RtNetlink.open({ netns: ns });
    try {
      await fn(rt, ns);
    } finally {
      rt.close();
    }
  });
}

Deno.test({
  name: "RtNetlink links: veth create, set up/MTU, delete; matches ip -j link",
  ignore: reason !== undefined,
  fn: () =>
    withRt("rtlink", async (rt, ns) => {
      await rt.createVeth("va", "vb");
      await rt.setLink("va", { up: true, mtu: 1400 });
      const ours = await rt.links();
      const theirs = (await ipJson(["-n", ns, "-d", "link", "show"])) as J[];
      assertEquals(
        ours.map((l) => [l.index, l.name, l.mtu, l.mac]).sort(),
        theirs.map((l) => [l.ifindex, l.ifname, l.mtu, l.address]).sort(),
      );
      const va = await rt.link("va");
      assertEquals([va.kind, va.up, va.mtu], ["veth", true, 1400]);
      await rt.setLink("va", { up: false });
      assertEquals((await rt.link("va")).up, false);
      await rt.deleteLink("va");
      assertEquals((await rt.links()).map((l) => l.name), ["lo"]);
      await assertRejects(() => rt.link("va"), NotFoundError, '"va"');
    }),
});

Deno.test({
  name: "RtNetlink createVeth puts the peer into another netns",
  ignore: reason !== undefined,
  fn: () =>
    withRt("rtvetha", async (rt) => {
      await withNetns("rtvethb", async (other) => {
        await rt.createVeth("pa", "pb", { peerNetns: other });
        assertEquals((await rt.links()).map((l) => l.name).sort(), [
          "lo",
          "pa",
        ]);
        const there = (await ipJson(["-n", other, "link", "show"])) as J[];
        assertEquals(there.map((l) => l.ifname).sort(), ["lo", "pb"]);
      });
    }),
});

Deno.test({
  name: "RtNetlink createLink reports an unknown kind with the kernel's text",
  ignore: reason !== undefined,
  fn: () =>
    withRt("rtkind", async (rt) => {
      const err = await assertRejects(() =>
        rt.createLink("x0", "no-such-kind")
      );
      assertStringIncludes(err.message, "Unknown device type");
      assertStringIncludes(err.message, '"x0"');
    }),
});

Deno.test({
  name:
    "RtNetlink addresses: add/list/delete, EEXIST with extended ACK; matches ip -j addr",
  ignore: reason !== undefined,
  fn: () =>
    withRt("rtaddr", async (rt, ns) => {
      await rt.createVeth("va", "vb");
      await rt.addAddress("va", "10.9.0.1/24");
      await rt.addAddress("va", "fd00::1/64");
      const err = await assertRejects(
        () => rt.addAddress("va", "10.9.0.1/24"),
        ExistsError,
      );
      assertEquals(err.errnoName, "EEXIST");
      // Linux 6.1 sends no text here; newer kernels explain it
      if (err.extAckMessage) {
        assertStringIncludes(err.extAckMessage, "already assigned");
      }
      const ours = (await rt.addresses("va")).map((a) => a.address).sort();
      const theirs =
        ((await ipJson(["-n", ns, "addr", "show", "dev", "va"])) as J[])
          .flatMap((l) =>
            (l.addr_info as J[]).map((a) => `${a.local}/${a.prefixlen}`)
          ).sort();
      assertEquals(ours, theirs);
      assert(ours.includes("fd00::1/64"));
      await rt.deleteAddress("va", "10.9.0.1/24");
      const gone = await assertRejects(
        () => rt.deleteAddress("va", "10.9.0.1/24"),
        NotFoundError,
      );
      assertEquals(gone.errnoName, "EADDRNOTAVAIL");
    }),
});

Deno.test({
  name:
    "RtNetlink rules: fwmark/mask lookup 180 priority 32500; matches ip -j rule",
  ignore: reason !== undefined,
  fn: () =>
    withRt("rtrule", async (rt, ns) => {
      for (const family of [4, 6] as const) {
        await rt.addRule({
          family,
          priority: 32500,
          table: 180,
          fwmark: 0x40,
          fwmask: 0x60,
        });
      }
      await assertRejects(
        () =>
          rt.addRule({
            family: 4,
            priority: 32500,
            table: 180,
            fwmark: 0x40,
            fwmask: 0x60,
          }),
        ExistsError,
      );
      const theirs = ((await ipJson(["-n", ns, "-4", "rule", "show"])) as J[])
        .find((r) => r.priority === 32500);
      assertEquals([theirs?.fwmark, theirs?.fwmask, theirs?.table], [
        "0x40",
        "0x60",
        "180",
      ]);
      const ours = (await rt.rules(6)).find((r) => r.priority === 32500);
      assertEquals([ours?.fwmark, ours?.fwmask, ours?.table], [
        0x40,
        0x60,
        180,
      ]);
      await rt.deleteRule({
        family: 4,
        priority: 32500,
        table: 180,
        fwmark: 0x40,
        fwmask: 0x60,
      });
      assertEquals(
        (await rt.rules(4)).some((r) => r.priority === 32500),
        false,
      );
      await assertRejects(
        () =>
          rt.deleteRule({
            family: 4,
            priority: 32500,
            table: 180,
            fwmark: 0x40,
            fwmask: 0x60,
          }),
        NotFoundError,
      );
    }),
});

Deno.test({
  name:
    "RtNetlink routes in table 180 with MTU and metric; matches ip -j route",
  ignore: reason !== undefined,
  fn: () =>
    withRt("rtroute", async (rt, ns) => {
      await rt.createVeth("va", "vb");
      await rt.setLink("va", { up: true });
      await rt.addRoute({
        destination: "0.0.0.0/0",
        device: "va",
        table: 180,
        metric: 1,
        mtu: 1380,
      });
      await rt.addRoute({
        destination: "::/0",
        device: "va",
        table: 180,
        metric: 1,
        mtu: 1360,
      });
      await rt.addRoute({
        destination: "10.7.0.0/16",
        device: "va",
        table: 180,
        metric: 5,
      });
      const dup = await assertRejects(
        () =>
          rt.addRoute({
            destination: "10.7.0.0/16",
            device: "va",
            table: 180,
            metric: 5,
          }),
        ExistsError,
      );
      assertStringIncludes(dup.message, "10.7.0.0/16");
      const v4 = (await ipJson([
        "-n",
        ns,
        "-d",
        "route",
        "show",
        "table",
        "180",
      ])) as J[];
      const def = v4.find((r) => r.dst === "default");
      assertEquals([
        def?.dev,
        def?.metric,
        (def?.metrics as J[] | undefined)?.[0],
      ], ["va", 1, { mtu: 1380 }]);
      const ours = await rt.routes({ table: 180 });
      assertEquals(
        ours.map((r) => `${r.destination} ${r.device} ${r.metric} ${r.mtu}`)
          .sort(),
        ["0.0.0.0/0 va 1 1380", "10.7.0.0/16 va 5 0", "::/0 va 1 1360"],
      );
      await rt.deleteRoute({
        destination: "10.7.0.0/16",
        device: "va",
        table: 180,
        metric: 5,
      });
      await assertRejects(
        () =>
          rt.deleteRoute({
            destination: "10.7.0.0/16",
            device: "va",
            table: 180,
            metric: 5,
          }),
        NotFoundError,
      );
      assertEquals((await rt.routes({ table: 180, family: 4 })).length, 1);
    }),
});

function meshRouting(mtu: number, extra: string[] = []): DesiredRouting {
  return {
    addresses: [{ ifname: "va", address: "fd00::1/64" }],
    routes: [
      { destination: "0.0.0.0/0", device: "va", table: 180, metric: 1, mtu },
      { destination: "::/0", device: "va", table: 180, metric: 1, mtu },
      ...extra.map((d) => ({
        destination: d,
        device: "va",
        table: 180,
        metric: 1,
        mtu,
      })),
    ],
    rules: [4, 6].map((family) => ({
      family: family as 4 | 6,
      priority: 32500,
      table: 180,
      fwmark: 0x40,
      fwmask: 0x60,
    })),
  };
}

Deno.test({
  name: "RtNetlink.applyRouting is idempotent and touches only what differs",
  ignore: reason !== undefined,
  fn: () =>
    withRt("rtapply", async (rt, ns) => {
      await rt.createVeth("va", "vb");
      await rt.setLink("va", { up: true });
      // foreign state that must survive
      await rt.addRoute({
        destination: "10.50.0.0/16",
        device: "va",
        table: 254,
      });
      await rt.addRule({ family: 4, priority: 100, table: 50 });

      assertEquals(await rt.applyRouting(meshRouting(1420, ["10.1.0.0/16"])), {
        added: 6,
        removed: 0,
      });
      assertEquals(await rt.applyRouting(meshRouting(1420, ["10.1.0.0/16"])), {
        added: 0,
        removed: 0,
      });
      // MTU change on two routes and one route dropped: 2 replaced + 1 removed
      assertEquals(await rt.applyRouting(meshRouting(1380)), {
        added: 2,
        removed: 3,
      });
      assertEquals(await rt.applyRouting(meshRouting(1380)), {
        added: 0,
        removed: 0,
      });

      const routes =
        (await ipJson(["-n", ns, "route", "show", "table", "all"])) as J[];
      assert(
        routes.some((r) => r.dst === "10.50.0.0/16"),
        "foreign route kept",
      );
      const rules = (await ipJson(["-n", ns, "rule", "show"])) as J[];
      assert(rules.some((r) => r.priority === 100), "foreign rule kept");
      const t180 = (await ipJson([
        "-n",
        ns,
        "-d",
        "route",
        "show",
        "table",
        "180",
      ])) as J[];
      assertEquals(t180.map((r) => (r.metrics as J[] | undefined)?.[0]), [{
        mtu: 1380,
      }]);
    }),
});

Deno.test({
  name:
    "RtNetlink.applyRouting installs scope-global table-180 routes and replaces scope-link ones",
  ignore: reason !== undefined,
  fn: () =>
    withRt("rtscope", async (rt, ns) => {
      await rt.createVeth("va", "vb");
      await rt.setLink("va", { up: true });
      // What an older agent left: a device route with scope link.
      await rt.addRoute({
        destination: "0.0.0.0/0",
        device: "va",
        table: 180,
        metric: 1,
        mtu: 1420,
      });
      const global = meshRouting(1420);
      global.routes = global.routes.map((r) => ({ ...r, scope: "global" }));
      assertEquals(await rt.applyRouting(global), { added: 5, removed: 1 });
      assertEquals(await rt.applyRouting(global), { added: 0, removed: 0 });
      const scopes = async (family: "-4" | "-6") =>
        ((await ipJson([
          "-n",
          ns,
          family,
          "-d",
          "route",
          "show",
          "table",
          "180",
        ])) as J[])
          .map((r) => `${r.dst} ${r.scope}`);
      assertEquals(await scopes("-4"), ["default global"]);
      assertEquals(await scopes("-6"), ["default global"]);
    }),
});
