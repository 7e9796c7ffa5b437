/**
 * Time to a full mesh from start, for N nodes, against the same mesh
 * configured statically with `wg` and `ip` in the same run, and where the
 * agents' seconds go (each agent's own timeline, `GET /v1/timeline`).
 *
 *   deno run -A tests/bench/mesh_bench.ts [4,8,16] [--repeat 3] [--source]
 *     [--json FILE] [--interval 30s] [--join]
 *
 * edgespan: agents start in network namespaces with the embedded discovery
 * service, from the bundled single file (what `deno task build` ships;
 * `--source` runs main.ts instead); the clock starts when the first agent is
 * spawned and stops at the latest "every peer up" of the agents' own
 * timelines. Reference: keys made up front, one wireguard-go per node
 * configured with `wg set` (all peers, endpoints, keepalive) and `ip`; the
 * clock stops when every node has a handshake with every peer. The two are
 * interleaved per repeat. `--join` then stops the last box with
 * `--cleanup` (its link and peers removed) and starts it again into the
 * converged mesh, timed from its spawn until it sees every pair up (each
 * needs a completed handshake). Before that, `--join` also starts a box
 * never seen by the mesh (an (N+1)th node with a fresh identity), timed from
 * its spawn until every pair with it is `up` in both directions (its own
 * timeline and every peer's timeline), and renumbers one box's underlay
 * address in its namespace, timed until every peer shows the new endpoint
 * with a handshake after the move, as their WireGuard reports it (UAPI).
 * Prints, never fails on timing.
 */
import { parseArgs } from "node:util";
import {
  apiList,
  type MeshDemo,
  startMeshDemo,
  waitForMesh,
} from "../../build/demo/mesh_demo.ts";
import { createSite } from "../../build/demo/topology.ts";
import { ip, netnsUnavailable } from "../../build/demo/netns.ts";
import { runOk } from "../../build/run.ts";
import { bundledCommand } from "./_bundle.ts";
import { UserspaceWireGuard } from "../../ffi/wireguard/uapi.ts";
import type { TimelineSnapshot } from "../../core/timeline.ts";
import {
  breakdown,
  breakdownTable,
  cpuFloor,
  type NodeSteps,
  nodeSteps,
  type NodeTimeline,
} from "../../build/bench/timeline_summary.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function staticMesh(n: number): Promise<number> {
  const site = await createSite(n, { prefix: "esb" });
  const daemons: Deno.ChildProcess[] = [];
  try {
    const keys = [];
    for (let i = 0; i < n; i++) {
      const priv = (await runOk("wg", ["genkey"])).trim();
      keys.push({
        priv,
        pub: (await runOk("wg", ["pubkey"], { stdin: priv + "\n" })).trim(),
      });
    }
    const started = performance.now();
    for (const node of site.nodes) {
      daemons.push(
        new Deno.Command("ip", {
          args: ["netns", "exec", node.netns, "wireguard-go", node.wgName],
          env: { WG_PROCESS_FOREGROUND: "1" },
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    }
    for (const node of site.nodes) {
      const sock = `/var/run/wireguard/${node.wgName}.sock`;
      while (!(await Deno.stat(sock).then(() => true, () => false))) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const i = node.index - 1;
      const keyFile = await Deno.makeTempFile();
      await Deno.writeTextFile(keyFile, keys[i]!.priv + "\n");
      const args = [
        "netns",
        "exec",
        node.netns,
        "wg",
        "set",
        node.wgName,
        "private-key",
        keyFile,
        "listen-port",
        "51820",
      ];
      for (const peer of site.nodes) {
        if (peer === node) continue;
        args.push(
          "peer",
          keys[peer.index - 1]!.pub,
          "endpoint",
          `${peer.underlay}:51820`,
          "persistent-keepalive",
          "25",
          "allowed-ips",
          `10.200.${peer.index}.1/32`,
        );
      }
      await runOk("ip", args);
      await Deno.remove(keyFile);
      await ip([
        "-n",
        node.netns,
        "addr",
        "add",
        `10.200.${node.index}.1/16`,
        "dev",
        node.wgName,
      ]);
      await ip(["-n", node.netns, "link", "set", node.wgName, "up"]);
    }
    for (;;) {
      let complete = true;
      for (const node of site.nodes) {
        const out = (await runOk("ip", [
          "netns",
          "exec",
          node.netns,
          "wg",
          "show",
          node.wgName,
          "latest-handshakes",
        ])).trim();
        const times = out.split("\n").map((l) => Number(l.split("\t")[1]));
        if (times.length !== n - 1 || times.some((t) => !(t > 0))) {
          complete = false;
        }
      }
      if (complete) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    for (const d of daemons) {
      try {
        d.kill("SIGTERM");
      } catch { /* gone */ }
      await d.status;
    }
    await site.destroy();
  }
}

/** Reads one agent's timeline over its unix-socket API. */
export async function fetchTimeline(socket: string): Promise<TimelineSnapshot> {
  const client = Deno.createHttpClient({
    proxy: { transport: "unix", path: socket },
  });
  try {
    const res = await fetch("http://localhost/v1/timeline", { client });
    if (!res.ok) throw new Error(`GET /v1/timeline: HTTP ${res.status}`);
    return await res.json() as TimelineSnapshot;
  } finally {
    client.close();
  }
}

/** Reconcile passes an agent ran so far (`edgespan_reconcile_runs_total`). */
export async function reconcileRuns(socket: string): Promise<number> {
  const client = Deno.createHttpClient({
    proxy: { transport: "unix", path: socket },
  });
  try {
    const text = await (await fetch("http://localhost/metrics", { client }))
      .text();
    return Number(/^edgespan_reconcile_runs_total\S* (\d+)/m.exec(text)?.[1]);
  } finally {
    client.close();
  }
}

/** User + system CPU time of a process so far, ms (/proc/PID/stat, 100 ticks a second). */
export function cpuMsOfPid(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * The agents' CPU up to the full mesh and the wall time it needs at the
 * least on this machine's cores (the agents alone, nothing else running).
 */
export function cpuFloorLine(cpuMs: number[], cores: number): string {
  const f = cpuFloor(cpuMs, cores);
  return `CPU per agent from spawn to the full mesh: median ${
    f.median.toFixed(0)
  } ms (${f.min.toFixed(0)}–${f.max.toFixed(0)}); all ${cpuMs.length} agents ${
    (f.total / 1000).toFixed(2)
  } CPU-s, at least ${
    (f.wallFloor / 1000).toFixed(2)
  } s of wall time on ${cores} cores`;
}

/** One edgespan run: total ms and every node's steps on the common axis. */
export interface MeshRun {
  ms: number;
  /** Reconcile passes each agent ran up to the full mesh. */
  passes: number[];
  /** CPU time (every thread, user + system) each agent used from its spawn to its last peer up, ms. */
  cpuMs: number[];
  nodes: NodeSteps[];
  /** Each node's raw timeline with its spawn time. */
  raw: NodeTimeline[];
}

async function timelines(demo: MeshDemo): Promise<NodeTimeline[]> {
  return await Promise.all(demo.agents.map(async (a) => ({
    name: `edge-${a.node.index}`,
    spawnedAt: a.spawnedAt,
    timeline: await fetchTimeline(a.socket),
  })));
}

/** A box (re)joining a converged mesh: its steps, ms after its spawn. */
export interface JoinRun {
  ms: number;
  node: NodeSteps;
}

async function join(
  demo: MeshDemo,
  n: number,
): Promise<JoinRun> {
  // the box leaves with --cleanup (link, peers and routes gone), then starts
  // again on its state: the others hold its old session, it holds nothing
  const index = demo.agents.length - 1;
  await demo.restart(index, true);
  const agent = demo.agents[index]!;
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      const raw = {
        name: `edge-${agent.node.index}`,
        spawnedAt: agent.spawnedAt,
        timeline: await fetchTimeline(agent.socket),
      };
      const node = nodeSteps(raw, agent.spawnedAt, n - 1);
      if (node.steps.allUp !== undefined) return { ms: node.steps.allUp, node };
    } catch { /* not listening yet */ }
    if (Date.now() > until) throw new Error("the box did not rejoin in 60 s");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A never-seen box joining: ms from its spawn until both sides are up. */
export interface NewJoinRun {
  /** Until every pair with it is up, both directions. */
  ms: number;
  /** Until it sees every peer up (its own timeline). */
  ownMs: number;
  /** Until the last peer saw it up (the peers' timelines). */
  peersMs: number;
  node: NodeSteps;
}

async function newJoin(demo: MeshDemo, n: number): Promise<NewJoinRun> {
  const agent = demo.join();
  const label = `edge-${agent.node.index}`;
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      const own = nodeSteps(
        {
          name: label,
          spawnedAt: agent.spawnedAt,
          timeline: await fetchTimeline(agent.socket),
        },
        agent.spawnedAt,
        n,
      );
      const seen = await Promise.all(
        demo.agents.filter((a) => a !== agent).map(async (a) => {
          const t = await fetchTimeline(a.socket);
          const p = Object.values(t.peers).find((p) => p.label === label);
          return p?.up === undefined
            ? undefined
            : t.timeOrigin + p.up - agent.spawnedAt;
        }),
      );
      if (
        own.steps.allUp !== undefined && seen.every((s) => s !== undefined)
      ) {
        const peersMs = Math.max(...seen as number[]);
        return {
          ms: Math.max(own.steps.allUp, peersMs),
          ownMs: own.steps.allUp,
          peersMs,
          node: own,
        };
      }
    } catch { /* not listening yet */ }
    if (Date.now() > until) throw new Error("the new box did not join in 60 s");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One box's underlay address moved: ms until the peers follow. */
export interface MoveRun {
  /** Until the first peer shows the new endpoint. */
  firstMs: number;
  /** Until every peer shows the new endpoint. */
  endpointMs: number;
  /** Until every peer also has a handshake after the move. */
  ms: number;
}

async function move(demo: MeshDemo, index: number): Promise<MoveRun> {
  const agent = demo.agents[index]!;
  const { netns, underlay } = agent.node;
  const moved = `${underlay.split(".").slice(0, 3).join(".")}.${
    100 + agent.node.index
  }`;
  const [identity] = await apiList<{ publicKey: string }>(
    agent.socket,
    "identity",
  );
  const key = identity!.spec.publicKey;
  const peers = demo.agents.filter((a) => a !== agent);
  const wg = new UserspaceWireGuard();
  await runOk("ip", [
    "netns",
    "exec",
    netns,
    "sysctl",
    "-qw",
    "net.ipv4.conf.wan0.promote_secondaries=1",
  ]);
  // the new address comes and the old one goes in one `ip -batch`; with
  // promoted secondaries the default route stays, as when DHCP renumbers
  const started = Date.now();
  await runOk("ip", ["-n", netns, "-batch", "-"], {
    stdin: `addr add ${moved}/24 dev wan0\naddr del ${underlay}/24 dev wan0\n`,
  });
  let firstMs: number | undefined;
  let endpointMs: number | undefined;
  for (;;) {
    // each peer's WireGuard, read over its UAPI socket (no process spawned)
    const views = await Promise.all(peers.map(async (a) => {
      const dev = await wg.device(a.node.wgName).catch(() => undefined);
      return dev?.peers.find((p) => p.publicKey === key);
    }));
    const now = Date.now() - started;
    const onNew = views.filter((v) => v?.endpoint.startsWith(`${moved}:`));
    if (onNew.length > 0) firstMs ??= now;
    if (onNew.length === views.length) endpointMs ??= now;
    if (onNew.every((v) => v!.lastHandshakeTime >= started) && endpointMs) {
      return { firstMs: firstMs!, endpointMs, ms: now };
    }
    if (now > 20_000) {
      throw new Error(
        `${views.length - onNew.length} of ${views.length} peers still ` +
          `without the new endpoint ${moved} after 20 s`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function edgespanMesh(
  n: number,
  command: string[] | undefined,
  interval: string,
  rejoin = false,
): Promise<MeshRun & Joins> {
  const demo = await startMeshDemo({
    nodes: n,
    dir: `${ROOT}.cache/bench-mesh`,
    interval,
    hold: rejoin ? 1 : 0,
    ...(command ? { command } : {}),
  });
  try {
    await waitForMesh(demo, 180_000);
    // `ip netns exec` execs the agent: the pid is the agent's (read now,
    // a little after the full mesh, only where the timeline has no CPU).
    const cpuNow = demo.agents.map((a) => cpuMsOfPid(a.process.pid));
    const zero = Math.min(...demo.agents.map((a) => a.spawnedAt));
    const raw = await timelines(demo);
    const passes = await Promise.all(
      demo.agents.map((a) => reconcileRuns(a.socket)),
    );
    const nodes = raw.map((t) => nodeSteps(t, zero, n - 1));
    const cpuMs = nodes.map((s, i) => s.cpu?.allUp ?? cpuNow[i]!);
    const ms = Math.max(...nodes.map((s) => s.steps.allUp ?? Infinity));
    if (!rejoin) return { ms, passes, cpuMs, nodes, raw };
    const fresh = await newJoin(demo, n);
    // the last of the first n boxes moves (node 1 hosts discovery)
    const moved = await move(demo, n - 1).catch((e: Error) => e.message);
    return {
      ms,
      passes,
      cpuMs,
      nodes,
      raw,
      newJoin: fresh,
      move: moved,
      join: await join(demo, n + 1),
    };
  } finally {
    await demo.stop();
  }
}

/** What `--join` adds to a run. */
interface Joins {
  join?: JoinRun;
  newJoin?: NewJoinRun;
  /** The move's times, or why the peers did not follow. */
  move?: MoveRun | string;
}

/** Measurements of one size, for the report. */
export interface MeshSizeResult {
  nodes: number;
  edgespanMs: number[];
  staticMs: number[];
  /** The median edgespan run's per-node steps. */
  timeline: NodeSteps[];
  /** The median run's raw timelines. */
  raw: NodeTimeline[];
  /** The median run's reconcile passes per agent up to the full mesh. */
  passes: number[];
  /** The median run's CPU ms per agent up to the full mesh. */
  cpuMs: number[];
  /** Cores of the machine (the CPU floor is sum(cpuMs) / cores). */
  cores: number;
  /** With --join: each run's time from the box's spawn to all its pairs up. */
  joinMs?: number[];
  /** With --join: the median join's steps. */
  join?: NodeSteps;
  /** With --join: each run's never-seen box, spawn to both sides up. */
  newJoin?: NewJoinRun[];
  /** With --join: each run's moved endpoint (or why it was not followed). */
  move?: (MoveRun | string)[];
}

function med(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

const secs = (ms: number) => (ms / 1000).toFixed(2);

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      repeat: { type: "string" },
      source: { type: "boolean" },
      json: { type: "string" },
      interval: { type: "string" },
      join: { type: "boolean" },
    },
  });
  const why = await netnsUnavailable();
  if (why) {
    console.log(`mesh_bench skipped: ${why}`);
    Deno.exit(0);
  }
  const sizes = (positionals[0] ?? "4,8,16").split(",").map(Number);
  const repeat = Number(values.repeat ?? "1");
  const command = values.source ? undefined : await bundledCommand();
  const results: MeshSizeResult[] = [];
  for (const n of sizes) {
    const runs: (MeshRun & Joins)[] = [];
    const staticMs: number[] = [];
    for (let r = 0; r < repeat; r++) {
      runs.push(
        await edgespanMesh(
          n,
          command,
          values.interval ?? "30s",
          values.join ?? false,
        ),
      );
      staticMs.push(await staticMesh(n));
      console.log(
        `${n} nodes, run ${r + 1}: edgespan ${
          secs(runs.at(-1)!.ms)
        } s, static ${secs(staticMs.at(-1)!)} s`,
      );
    }
    const ms = runs.map((r) => r.ms);
    const mid = runs.find((r) => r.ms === med(ms))!;
    console.log(`\n${n} nodes: where the seconds go (median run)\n`);
    console.log(breakdownTable(breakdown(mid.nodes)));
    console.log("");
    results.push({
      nodes: n,
      edgespanMs: ms,
      staticMs,
      timeline: mid.nodes,
      raw: mid.raw,
      passes: mid.passes,
      cpuMs: mid.cpuMs,
      cores: navigator.hardwareConcurrency,
    });
    console.log(
      `passes per agent up to the full mesh: ${mid.passes.join(" ")}`,
    );
    console.log(`${cpuFloorLine(mid.cpuMs, navigator.hardwareConcurrency)}\n`);
    const joins = runs.flatMap((r) => r.join ? [r.join] : []);
    if (joins.length) {
      const jm = joins.map((j) => j.ms);
      const midJoin = joins.find((j) => j.ms === med(jm))!;
      results.at(-1)!.joinMs = jm;
      results.at(-1)!.join = midJoin.node;
      console.log(
        `${n} nodes: a box rejoining the converged mesh: ${
          jm.map(secs).join(", ")
        } s from its spawn to every pair with it up`,
      );
      console.log(breakdownTable(breakdown([midJoin.node])));
      console.log("");
    }
    const fresh = runs.flatMap((r) => r.newJoin ? [r.newJoin] : []);
    if (fresh.length) {
      results.at(-1)!.newJoin = fresh;
      console.log(
        `${n} nodes: a never-seen box joining (node ${n + 1}): ${
          fresh.map((f) =>
            `${secs(f.ms)} s (it sees all up ${secs(f.ownMs)} s, ` +
            `the last peer sees it up ${secs(f.peersMs)} s)`
          ).join(", ")
        } from its spawn`,
      );
      const mid = fresh.find((f) => f.ms === med(fresh.map((f) => f.ms)))!;
      console.log(breakdownTable(breakdown([mid.node])));
      console.log("");
    }
    const moves = runs.flatMap((r) => r.move ? [r.move] : []);
    if (moves.length) {
      results.at(-1)!.move = moves;
      console.log(
        `${n} nodes: one box's underlay address moved: ${
          moves.map((m) =>
            typeof m === "string"
              ? m
              : `first peer on the new endpoint ${secs(m.firstMs)} s, ` +
                `every peer ${secs(m.endpointMs)} s, with a handshake ${
                  secs(m.ms)
                } s`
          ).join("; ")
        }\n`,
      );
    }
  }
  console.log(
    "nodes | edgespan to full mesh | static wg+ip to all handshakes | ratio (median) | ratio range",
  );
  console.log("---|---|---|---|---");
  for (const r of results) {
    const ratios = r.edgespanMs.map((e, i) => e / r.staticMs[i]!);
    console.log(
      `${r.nodes} | ${secs(med(r.edgespanMs))} s | ${
        secs(med(r.staticMs))
      } s | ${(med(r.edgespanMs) / med(r.staticMs)).toFixed(1)} | ${
        Math.min(...ratios).toFixed(1)
      }–${Math.max(...ratios).toFixed(1)}`,
    );
  }
  if (values.json) {
    await Deno.writeTextFile(values.json, JSON.stringify(results, null, 1));
  }
}
