/**
 * What the mesh and fault tests share: the skip probe, a demo mesh that is
 * always stopped, the API and nft probes they read, and polling.
 *
 * @module
 */
import {
  apiList,
  type MeshDemo,
  type MeshDemoOptions,
  startMeshDemo,
  waitForMesh,
} from "../../build/demo/mesh_demo.ts";
import { netnsUnavailable, nftScript } from "../../build/demo/netns.ts";
import { run } from "../../build/run.ts";

/** Why the mesh tests cannot run here (no netns, a tool missing), or nothing. */
async function meshSkipReason(): Promise<string | undefined> {
  const netns = await netnsUnavailable();
  if (netns) return netns;
  for (const tool of ["wireguard-go", "busybox", "nft"]) {
    if ((await run("sh", ["-c", `command -v ${tool}`])).code !== 0) {
      return `${tool} is not installed (tests/run.sh installs it as root)`;
    }
  }
  return undefined;
}

/** Why the tests of this folder skip here, or nothing when they run. */
export const MESH_SKIP: string | undefined = await meshSkipReason();

/**
 * Registers a mesh test: skipped with {@linkcode MESH_SKIP}'s reason, and
 * without the resource and op sanitizers (agents and their streams outlive
 * single ops by design; `withMesh` stops them all).
 */
export function meshTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: MESH_SKIP !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

/**
 * Shortened timers (test-only override). The down interval must stay above
 * WireGuard's rekey cadence (a handshake every ~120-145 s with keepalives),
 * or healthy idle links would be judged down.
 */
export const FAST_TIMERS = { EDGESPAN_TEST_TIMERS: "connect=5s,down=150s" };

/** Options for {@linkcode withMesh}: the demo's, plus an optional wait. */
export interface WithMeshOptions extends MeshDemoOptions {
  /** Wait this long for a full mesh before `fn` runs. @default no wait */
  convergeMs?: number;
}

/**
 * Starts a demo mesh (1 s tick and {@linkcode FAST_TIMERS} unless given),
 * runs `fn`, and always stops it, removing the UAPI sockets a wireguard-go
 * killed with SIGKILL leaves behind.
 */
export async function withMesh(
  options: WithMeshOptions,
  fn: (demo: MeshDemo) => Promise<void>,
): Promise<void> {
  const { convergeMs, ...demoOptions } = options;
  const demo = await startMeshDemo({
    interval: "1s",
    env: FAST_TIMERS,
    ...demoOptions,
  });
  try {
    if (convergeMs !== undefined) await waitForMesh(demo, convergeMs);
    await fn(demo);
  } finally {
    await demo.stop();
    for (const a of demo.agents) {
      await Deno.remove(`/var/run/wireguard/${a.node.wgName}.sock`)
        .catch(() => {});
    }
  }
}

/** Agent `index`'s mesh address (no prefix length), from its API. */
export async function meshAddress(
  demo: MeshDemo,
  index: number,
): Promise<string> {
  return (await apiList<{ address: string }>(
    demo.agents[index]!.socket,
    "identity",
  ))[0]!.spec.address.split("/")[0]!;
}

/** GET on an agent's unix-socket API; returns status and body text. */
export async function apiGet(
  socket: string,
  path: string,
): Promise<{ status: number; text: string }> {
  const client = Deno.createHttpClient({
    proxy: { transport: "unix", path: socket },
  });
  try {
    const res = await fetch(`http://localhost${path}`, { client });
    return { status: res.status, text: await res.text() };
  } finally {
    client.close();
  }
}

/** The agents' nft table as `nft list` prints it; empty when there is none. */
export async function nftTable(netns: string): Promise<string> {
  const out = await run("ip", [
    "netns",
    "exec",
    netns,
    "nft",
    "list",
    "table",
    "inet",
    "edgespan",
  ]);
  return out.code === 0 ? out.stdout : "";
}

/**
 * Adds a `probe` table counting echo requests to `target` that leave the
 * underlay (`wan0`) in clear; read it with {@linkcode clearPackets}.
 */
export async function addClearProbe(
  netns: string,
  target: string,
): Promise<void> {
  await nftScript(netns, [
    "add table inet probe",
    "add chain inet probe post { type filter hook postrouting priority 100; }",
    `add rule inet probe post oifname "wan0" ip daddr ${target} icmp type echo-request counter`,
  ]);
}

/** Packets counted by the `probe` table's only counter. */
export async function clearPackets(netns: string): Promise<number> {
  const out = await run("ip", [
    "netns",
    "exec",
    netns,
    "nft",
    "-j",
    "list",
    "table",
    "inet",
    "probe",
  ]);
  const doc = JSON.parse(out.stdout) as { nftables: Record<string, unknown>[] };
  for (const item of doc.nftables) {
    const rule = item.rule as
      | { expr?: { counter?: { packets: number } }[] }
      | undefined;
    const counter = rule?.expr?.find((e) => e.counter)?.counter;
    if (counter) return counter.packets;
  }
  throw new Error("probe counter not found");
}

/**
 * Polls `check` every `everyMs` until it holds; returns the ms it took or
 * throws after `timeoutMs`.
 */
export async function timeUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  everyMs = 50,
): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await check()) return performance.now() - started;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}
