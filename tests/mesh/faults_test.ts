/**
 * Dataplane fault tests: real agents in network namespaces (userspace
 * WireGuard, embedded discovery), with the kernel state broken behind their
 * backs. Each prints the measured repair time.
 *
 * - the WireGuard link deleted twice while wireguard-go waits to restart:
 *   exactly one wireguard-go stays, the device stops changing, and no
 *   traffic to a peer's LAN leaves in clear meanwhile;
 * - an adopted wireguard-go (left by the previous agent) killed with
 *   SIGKILL: a new one is started and passes succeed again;
 * - the nft table deleted under traffic to a peer's LAN: it is put back,
 *   and the clear-text packets sent meanwhile are counted.
 */
import { type MeshDemo, ping } from "../../build/demo/mesh_demo.ts";
import { findWireGuardGo } from "../../ffi/wireguard/wireguard_go.ts";
import { run, runOk } from "../../build/run.ts";
import { nftScript } from "../../build/demo/netns.ts";
import { assert, assertEquals } from "../_tools/assert.ts";
import {
  addClearProbe,
  apiGet,
  clearPackets,
  MESH_SKIP,
  meshAddress,
  meshTest,
  nftTable,
  timeUntil,
  withMesh as withDemoMesh,
} from "./_harness.ts";

if (MESH_SKIP) console.log(`tests/mesh/faults: skipped: ${MESH_SKIP}`);

const DIR = new URL("../../.cache/test-faults", import.meta.url).pathname;
/**
 * The agents reconcile on a 5 s tick; every fault must be repaired well
 * within one, i.e. by the pass the fault itself wakes.
 */
const TICK = "5s";
const REPAIR_BOUND_MS = 3_000;

/** Two agents on a 5 s tick, converged before `fn` runs. */
function withMesh(
  options: { cleanupOnExit?: boolean; interval?: string },
  fn: (demo: MeshDemo) => Promise<void>,
): Promise<void> {
  return withDemoMesh({
    nodes: 2,
    dir: DIR,
    ...options,
    interval: options.interval ?? TICK,
    convergeMs: 40_000,
  }, fn);
}

/** The value of one series in an agent's `/metrics`, or undefined. */
async function metric(
  socket: string,
  series: string,
): Promise<number | undefined> {
  const { text } = await apiGet(socket, "/metrics");
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

async function ifindex(
  netns: string,
  link: string,
): Promise<number | undefined> {
  const r = await run("ip", ["-n", netns, "-j", "link", "show", link]);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { ifindex: number }[])[0]?.ifindex;
}

/** 20 echo requests a second to `target`, for at most 15 s. */
function pingFlood(netns: string, target: string): Deno.ChildProcess {
  return new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      netns,
      "busybox",
      "ping",
      "-q",
      "-i",
      "0.05",
      "-w",
      "15",
      target,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function stopPinger(p: Deno.ChildProcess): Promise<void> {
  try {
    p.kill("SIGKILL");
  } catch { /* exited */ }
  await p.status;
}

meshTest(
  "fault: the link deleted twice during wireguard-go's restart backoff leaves exactly one wireguard-go and a stable device",
  async () => {
    await withMesh({}, async (demo) => {
      const agent = demo.agents[0]!;
      const { netns, wgName } = agent.node;
      const peer = await meshAddress(demo, 1);
      assertEquals((await findWireGuardGo(wgName)).length, 1);
      const target = demo.agents[1]!.node.lanAddress;
      await addClearProbe(netns, target);
      const pinger = pingFlood(netns, target);
      // Delete the link (wireguard-go exits and its supervisor waits to
      // restart it) and make the agent reconcile at once, inside the
      // backoff; delete the restarted link again the same way.
      const t0 = performance.now();
      for (let i = 0; i < 2; i++) {
        // the second time, the link wireguard-go's restart just brought
        await timeUntil(
          "the link",
          3_000,
          async () => (await ifindex(netns, wgName)) !== undefined,
        );
        await runOk("ip", ["-n", netns, "link", "del", wgName]);
        agent.process.kill("SIGHUP");
        await new Promise((r) => setTimeout(r, 50));
      }
      const ms = await timeUntil(
        "the mesh to work again",
        REPAIR_BOUND_MS,
        async () => (await ping(agent.node, peer, 1)).ok,
      );
      await stopPinger(pinger);
      const leaked = await clearPackets(netns);
      console.log(
        `link deleted twice: mesh ping works again ${
          ((performance.now() - t0) / 1000).toFixed(2)
        }s after the first delete (${
          (ms / 1000).toFixed(2)
        }s after the second); ${leaked} echo requests to the peer's LAN left in clear meanwhile`,
      );
      // Stable: one process, the same pid and the same link for 4 s.
      const pids = await findWireGuardGo(wgName);
      assertEquals(pids.length, 1, `wireguard-go processes: ${pids}`);
      const index = await ifindex(netns, wgName);
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 500));
        assertEquals(await findWireGuardGo(wgName), pids, "wireguard-go pid");
        assertEquals(await ifindex(netns, wgName), index, "link ifindex");
      }
      assert((await ping(agent.node, peer, 1)).ok, "mesh ping after 4 s");
      // The mesh_guard chain drops marked traffic while the link is gone.
      assertEquals(leaked, 0, "nothing left in clear while the link was gone");
      const ready = await apiGet(agent.socket, "/readyz");
      assertEquals(ready.status, 200, ready.text);
    });
  },
);

meshTest(
  "fault: an adopted wireguard-go killed with SIGKILL is restarted and reconciles succeed again",
  async () => {
    // The death of a process we cannot wait on is noticed between passes.
    await withMesh({ cleanupOnExit: false }, async (demo) => {
      const { wgName } = demo.agents[0]!.node;
      const [before] = await findWireGuardGo(wgName);
      assert(before !== undefined, "wireguard-go runs");
      // A new agent adopts the wireguard-go the previous one left running.
      await demo.restart(0, false);
      const agent = demo.agents[0]!;
      await timeUntil("the new agent to be ready", 20_000, async () => {
        try {
          return (await apiGet(agent.socket, "/readyz")).status === 200;
        } catch {
          return false;
        }
      });
      assertEquals(await findWireGuardGo(wgName), [before], "adopted");
      const peer = await meshAddress(demo, 1);
      const target = demo.agents[1]!.node.lanAddress;
      await addClearProbe(agent.node.netns, target);
      const pinger = pingFlood(agent.node.netns, target);
      Deno.kill(before, "SIGKILL");
      const ms = await timeUntil(
        "a new wireguard-go and a working mesh",
        REPAIR_BOUND_MS,
        async () => {
          const pids = await findWireGuardGo(wgName);
          return pids.length === 1 && pids[0] !== before &&
            (await ping(agent.node, peer, 1)).ok;
        },
      );
      await stopPinger(pinger);
      const leaked = await clearPackets(agent.node.netns);
      console.log(
        `adopted wireguard-go SIGKILLed: restarted and mesh ping works after ${
          (ms / 1000).toFixed(2)
        }s; ${leaked} echo requests to the peer's LAN left in clear meanwhile`,
      );
      assertEquals(leaked, 0, "nothing left in clear while the link was gone");
      // Passes succeed again: the error count stops growing.
      await timeUntil(
        "a ready agent",
        3_000,
        async () => (await apiGet(agent.socket, "/readyz")).status === 200,
      );
      const errors = await metric(
        agent.socket,
        "edgespan_reconcile_errors_total",
      );
      await new Promise((r) => setTimeout(r, 5500)); // one more tick
      assertEquals(
        await metric(agent.socket, "edgespan_reconcile_errors_total"),
        errors,
        "reconcile errors after the repair",
      );
      assertEquals(
        await metric(
          agent.socket,
          'edgespan_dataplane_repairs_total{object="wireguard-go"}',
        ),
        1,
      );
    });
  },
);

meshTest(
  "fault: a deleted nft table is put back within a bound; clear-text packets to the peer's LAN are counted until then",
  async () => {
    await withMesh({}, async (demo) => {
      const agent = demo.agents[0]!;
      const node = agent.node;
      const target = demo.agents[1]!.node.lanAddress;
      const lan = demo.agents[1]!.node.lan;
      await addClearProbe(node.netns, target);
      assert((await ping(node, target, 1)).ok, "the peer's LAN answers");
      assertEquals(await clearPackets(node.netns), 0, "tunnelled, not clear");
      // 20 echo requests a second to the peer's LAN while the table is gone.
      const pinger = pingFlood(node.netns, target);
      try {
        await new Promise((r) => setTimeout(r, 300));
        await nftScript(node.netns, ["delete table inet edgespan"]);
        const ms = await timeUntil(
          "the nft table to be back",
          REPAIR_BOUND_MS,
          async () => (await nftTable(node.netns)).includes(lan),
        );
        const leaked = await clearPackets(node.netns);
        console.log(
          `nft table deleted: repaired after ${
            (ms / 1000).toFixed(2)
          }s; ${leaked} echo requests to the peer's LAN left in clear meanwhile`,
        );
        await new Promise((r) => setTimeout(r, 500));
        const settled = await clearPackets(node.netns);
        await new Promise((r) => setTimeout(r, 1000));
        assertEquals(
          await clearPackets(node.netns),
          settled,
          "no clear packets after the repair",
        );
      } finally {
        await stopPinger(pinger);
      }
      assertEquals(
        await metric(
          agent.socket,
          'edgespan_dataplane_repairs_total{object="nft"}',
        ),
        1,
      );
      const ready = await apiGet(agent.socket, "/readyz");
      assertEquals(ready.status, 200, ready.text);
      assert(ready.text.includes("nft 1"), ready.text);
    });
  },
);
