/** The wireguard-go supervisor: start, restart after a crash, stop. */
import {
  findWireGuardGo,
  restartDelay,
  WireGuardGo,
} from "../../../ffi/wireguard/wireguard_go.ts";
import { UserspaceWireGuard } from "../../../ffi/wireguard/uapi.ts";
import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
} from "../../_tools/assert.ts";
import { randomSuffix, withNetns } from "../../_tools/netns.ts";
import { userspaceSkipReason } from "./_userspace_env.ts";

const skip = await userspaceSkipReason();
if (skip) console.log(`skip wireguard-go tests: ${skip}`);

Deno.test("restartDelay doubles from the minimum up to the cap", () => {
  assertEquals(
    [0, 1, 2, 3, 10, 100].map((n) => restartDelay(n, { maxMs: 5000 })),
    [200, 400, 800, 1600, 5000, 5000],
  );
  assertEquals(restartDelay(2, { minMs: 10 }), 40);
  assertEquals(restartDelay(100), 30_000);
});

Deno.test({
  name: "WireGuardGo.start fails with a reason when the binary exits at once",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await assertRejects(
      () => WireGuardGo.start("wgfail0", { binary: "false" }),
      Error,
      'Cannot start wireguard-go for "wgfail0": exited early',
    );
    await assertRejects(
      () => WireGuardGo.start("wgfail1", { binary: "/nonexistent/wg-go" }),
      Error,
      'cannot run "/nonexistent/wg-go"',
    );
  },
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test({
  name: "WireGuardGo supervises: socket ready, restart after SIGKILL, stop",
  ignore: skip !== undefined,
  fn: async () => {
    await withNetns("wgsup", async (ns) => {
      const ifname = `wgs${randomSuffix()}`;
      let restarted = 0;
      const wg = await WireGuardGo.start(ifname, {
        testNetns: ns,
        backoffMinMs: 50,
        onRestart: () => {
          restarted++;
        },
      });
      const uapi = new UserspaceWireGuard();
      try {
        const first = wg.status;
        assertEquals([first.state, first.restarts], ["running", 0]);
        assert(first.pid > 0);
        assertEquals((await uapi.device(ifname)).name, ifname);

        Deno.kill(first.pid, "SIGKILL");
        await waitFor(() => restarted > 0, 5000);
        const second = wg.status;
        assertEquals([second.state, second.restarts, restarted], [
          "running",
          1,
          1,
        ]);
        assertNotEquals(second.pid, first.pid);
        assert(second.lastError.includes("SIGKILL"), second.lastError);
        // The new process binds its port once it sees the link up, which
        // takes a while under emulation (the VM tier).
        let port = 0;
        for (let i = 0; i < 100 && port === 0; i++) {
          port = (await uapi.device(ifname)).listenPort;
          if (port === 0) await new Promise((r) => setTimeout(r, 50));
        }
        assert(port > 0, "the restarted wireguard-go never bound a port");
      } finally {
        await wg.stop();
      }
      assertEquals([wg.status.state, wg.status.pid], ["stopped", 0]);
      assert(!(await uapi.has(ifname)), "the socket outlived SIGTERM");
    });
  },
});

Deno.test({
  name: "WireGuardGo.start replaces a wireguard-go left from an earlier run",
  ignore: skip !== undefined,
  fn: async () => {
    await withNetns("wgold", async (ns) => {
      const ifname = `wgo${randomSuffix()}`;
      const old = new Deno.Command("ip", {
        args: ["netns", "exec", ns, "wireguard-go", ifname],
        env: { WG_PROCESS_FOREGROUND: "1" },
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const uapi = new UserspaceWireGuard();
      let wg: WireGuardGo | undefined;
      try {
        for (let i = 0; i < 250 && !(await uapi.has(ifname)); i++) {
          await new Promise((r) => setTimeout(r, 20));
        }
        await uapi.device(ifname); // it answers
        assertEquals(await findWireGuardGo(ifname), [old.pid]);
        await assertRejects(
          () => WireGuardGo.start(ifname, { testNetns: ns, stale: "fail" }),
          Error,
          `already served by pid ${old.pid}`,
        );
        wg = await WireGuardGo.start(ifname, { testNetns: ns });
        const status = await old.status;
        // SIGTERM made it shut down cleanly (no SIGKILL needed).
        assertEquals([status.code, status.signal], [0, null]);
        assertEquals(await findWireGuardGo(ifname), [wg.status.pid]);
        assertEquals((await uapi.device(ifname)).name, ifname);
      } finally {
        await wg?.stop();
        try {
          Deno.kill(old.pid, "SIGKILL");
        } catch {
          // already gone
        }
        await old.status;
      }
    });
  },
});
