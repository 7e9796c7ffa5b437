/**
 * Runs one scenario in one mode: builds the namespaces, starts the discovery
 * service on its public address and one real agent per box, measures until
 * the mesh is full or the time limit passes, applies the mid-run event and
 * measures the recovery, then removes everything.
 *
 * @module
 */
import { apiList } from "../../build/demo/mesh_demo.ts";
import { V8_FLAGS } from "../../core/runtime_flags.ts";
import type { PeerStatusSpec } from "../../core/resources/specs.ts";
import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import { randomSuffix, run } from "../_tools/netns.ts";
import { renderBoxConfig } from "./box_config.ts";
import { type LabMode, modeSettings } from "./modes.ts";
import { buildLab, flushConntrack, type Lab, renumberWan } from "./network.ts";
import { type BoxPlan, type LabPlan, planLab } from "./plan.ts";
import type { EventResult, PairResult, ScenarioResult } from "./report.ts";
import { boxPairs, hasNoDirectPath, type Scenario } from "./scenarios.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Time limits of one mode, in ms. */
export interface LabLimits {
  /** Until every pair is up. */
  meshMs: number;
  /** After the mid-run event, until every pair passes traffic again. */
  recoverMs: number;
}

/**
 * Default limits: edgespan connects within seconds or not at all; KubeSpan
 * needs a 30 s tick per endpoint and 275 s before it calls a peer down.
 */
export const DEFAULT_LIMITS: Record<LabMode, LabLimits> = {
  edgespan: { meshMs: 60_000, recoverMs: 90_000 },
  kubespan: { meshMs: 150_000, recoverMs: 360_000 },
};

/** Options of {@linkcode runScenario}. */
export interface RunOptions {
  mode: LabMode;
  /** Where configs, state and logs go (a subfolder per run). */
  dir: string;
  /** @default DEFAULT_LIMITS[mode] */
  limits?: LabLimits;
  /** Progress lines. @default nothing */
  progress?: (line: string) => void;
  /**
   * Runs on the live lab once the mesh phase (and event) is over, before
   * everything is removed; a throw is the run's error. @default none
   */
  during?: (lab: RunningLab, result: ScenarioResult) => Promise<void>;
}

/** The live lab, for {@linkcode RunOptions.during}. */
export interface RunningLab {
  plan: LabPlan;
  /** Network namespace of a box. */
  netns(box: string): string;
  /** A box's agent log file. */
  logFile(box: string): string;
  /** A box's peer statuses, by peer label. */
  statuses(box: string): Promise<Map<string, PeerStatusSpec>>;
  /** A box's mesh address (no length). */
  meshAddress(box: string): Promise<string>;
  /** Stops a box's agent (its WireGuard link goes with it). */
  stopAgent(box: string): Promise<void>;
  /** The agent's process id (for CPU figures). */
  pid(box: string): number;
}

interface Agent {
  box: BoxPlan;
  dir: string;
  socket: string;
  process: Deno.ChildProcess;
}

/** The CLI entry of the tree under test (main.ts once mod.ts is split). */
async function entry(): Promise<string> {
  for (const f of ["main.ts", "mod.ts"]) {
    try {
      await Deno.stat(`${ROOT}${f}`);
      return `${ROOT}${f}`;
    } catch { /* next */ }
  }
  throw new Error(`Cannot find main.ts or mod.ts in ${ROOT}`);
}

/** Starts the tree's CLI in a namespace, output appended to `log`. */
export async function spawnIn(
  netns: string,
  args: string[],
  log: string,
): Promise<Deno.ChildProcess> {
  const file = await Deno.open(log, {
    write: true,
    create: true,
    append: true,
  });
  const process = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      netns,
      Deno.execPath(),
      "run",
      "-A",
      `--v8-flags=${V8_FLAGS}`,
      await entry(),
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // The product's timers only: never the test-only speed-up.
    env: { NO_COLOR: "1", EDGESPAN_TEST_TIMERS: "" },
  }).spawn();
  const err = await Deno.open(log, { write: true, append: true });
  process.stdout.pipeTo(file.writable).catch(() => {});
  process.stderr.pipeTo(err.writable).catch(() => {});
  return process;
}

/** SIGTERM, then SIGKILL after 5 s. */
export async function stopProcess(p: Deno.ChildProcess): Promise<void> {
  try {
    p.kill("SIGTERM");
  } catch { /* gone */ }
  const timer = setTimeout(() => {
    try {
      p.kill("SIGKILL");
    } catch { /* gone */ }
  }, 5000);
  await p.status;
  clearTimeout(timer);
}

export function randomBase64(n: number): string {
  return btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(n))),
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` every 250 ms until true; throws after `limitMs`. */
export async function waitFor(
  what: string,
  limitMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const until = performance.now() + limitMs;
  while (performance.now() < until) {
    if (await probe().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`${what} did not happen within ${limitMs / 1000} s`);
}

/** Peer statuses of every agent, by agent name then peer label. */
async function snapshot(
  agents: Agent[],
): Promise<Map<string, Map<string, PeerStatusSpec>>> {
  const out = new Map<string, Map<string, PeerStatusSpec>>();
  await Promise.all(agents.map(async (a) => {
    const m = new Map<string, PeerStatusSpec>();
    try {
      for (const r of await apiList<PeerStatusSpec>(a.socket, "peerstatuses")) {
        m.set(r.spec.label, r.spec);
      }
    } catch { /* not answering right now */ }
    out.set(a.box.spec.name, m);
  }));
  return out;
}

function hostOf(endpoint: string): string {
  if (endpoint.startsWith("[")) return endpoint.slice(1, endpoint.indexOf("]"));
  return endpoint.slice(0, endpoint.lastIndexOf(":"));
}

/** How `from` reaches a peer at `endpoint`: over its LAN, IPv6, or a WAN. */
function pathKind(plan: LabPlan, from: string, endpoint: string): string {
  const host = hostOf(endpoint);
  if (host === "") return "?";
  const site = plan.sites.find((s) =>
    s.boxes.some((b) => b.spec.name === from)
  );
  const onLan = site?.boxes.some((b) =>
    b.v4.split("/")[0] === host || b.v6?.split("/")[0] === host
  );
  if (onLan) return "LAN";
  return host.includes(":") ? "IPv6" : "WAN";
}

async function pingOnce(netns: string, address: string): Promise<boolean> {
  const r = await run("ip", [
    "netns",
    "exec",
    netns,
    "busybox",
    "ping",
    "-c",
    "1",
    "-W",
    "1",
    address,
  ]);
  return r.code === 0;
}

const active = new Set<() => Promise<void>>();

/** Cleans up every scenario still running (for a Ctrl-C handler). */
/**
 * Starts the lab's discovery service in the "internet" namespace and waits
 * until it answers; its output goes to `logPath`.
 */
export async function startDiscovery(
  plan: LabPlan,
  logPath: string,
): Promise<Deno.ChildProcess> {
  const inet = plan.internet.netns;
  const discovery = await spawnIn(inet, [
    "discovery",
    "serve",
    "--listen",
    plan.internet.discovery,
  ], logPath);
  await waitFor(
    "the discovery service answering",
    60_000,
    async () =>
      (await run("ip", [
        "netns",
        "exec",
        inet,
        "busybox",
        "wget",
        "-q",
        "-O",
        "/dev/null",
        `http://${plan.internet.discovery}/healthz`,
      ])).code === 0,
  );
  return discovery;
}

export async function cleanUpAll(): Promise<void> {
  await Promise.all([...active].map((f) => f()));
}

/** Runs one scenario in one mode; never leaves a namespace or process behind. */
export async function runScenario(
  scenario: Scenario,
  options: RunOptions,
): Promise<ScenarioResult> {
  const limits = options.limits ?? DEFAULT_LIMITS[options.mode];
  const say = options.progress ?? (() => {});
  const plan = planLab(scenario, randomSuffix());
  const base = `${options.dir}/${plan.suffix}`;
  const result: ScenarioResult = {
    scenario: scenario.id,
    title: scenario.title,
    mode: options.mode,
    suffix: plan.suffix,
    pairs: boxPairs(scenario).map(([a, b]) => ({
      a,
      b,
      noDirectPath: hasNoDirectPath(scenario, a, b),
      up: false,
    })),
    meshLimitMs: limits.meshMs,
  };
  let lab: Lab | undefined;
  let discovery: Deno.ChildProcess | undefined;
  const agents: Agent[] = [];
  const cleanup = async () => {
    await Promise.all(agents.map((a) => stopProcess(a.process)));
    if (discovery) await stopProcess(discovery);
    await lab?.destroy();
    // Keep configs and logs; drop the throwaway identities.
    for (const a of agents) {
      await Deno.remove(`${a.dir}/state`, { recursive: true }).catch(() => {});
    }
  };
  active.add(cleanup);
  try {
    lab = await buildLab(plan);
    await Deno.mkdir(base, { recursive: true });
    say(`scenario ${scenario.id} (${options.mode}): lab ${plan.suffix} built`);
    discovery = await startDiscovery(plan, `${base}/discovery.log`);
    const mode = modeSettings(
      options.mode,
      BUILTIN_PLUGINS.map((p) => ({
        name: p.name,
        discovery: p.hooks.includes("discovery"),
      })),
    );
    const cluster = { id: randomBase64(32), secret: randomBase64(32) };
    const boxes = plan.sites.flatMap((s) => s.boxes);
    for (const box of boxes) {
      const dir = `${base}/${box.spec.name}`;
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/config.yaml`,
        renderBoxConfig({
          cluster,
          discovery: plan.internet.discovery,
          box,
          dir,
          mode,
        }),
      );
    }
    // The clock starts when the agents are started: the figures include
    // the agents' start-up, the same in both modes.
    const t0 = performance.now();
    for (const box of boxes) {
      const dir = `${base}/${box.spec.name}`;
      agents.push({
        box,
        dir,
        socket: `${dir}/api.sock`,
        process: await spawnIn(box.netns, [
          "run",
          "--config",
          `${dir}/config.yaml`,
        ], `${dir}/agent.log`),
      });
    }
    say(`scenario ${scenario.id} (${options.mode}): agents started, measuring`);
    let last: Map<string, Map<string, PeerStatusSpec>> = new Map();
    let lastUp = -1;
    while (performance.now() - t0 < limits.meshMs) {
      last = await snapshot(agents);
      const now = performance.now() - t0;
      for (const p of result.pairs) {
        const ab = last.get(p.a)?.get(p.b);
        const ba = last.get(p.b)?.get(p.a);
        p.up = ab?.state === "up" && ba?.state === "up";
        if (p.up && p.upAfterMs === undefined) p.upAfterMs = Math.round(now);
      }
      const up = result.pairs.filter((p) => p.up).length;
      if (up !== lastUp) {
        say(
          `  ${
            (now / 1000).toFixed(1)
          } s: ${up}/${result.pairs.length} pairs up`,
        );
        lastUp = up;
      }
      if (up === result.pairs.length) {
        result.fullMeshMs = Math.round(now);
        break;
      }
      await sleep(500);
    }
    for (const p of result.pairs) {
      const ab = last.get(p.a)?.get(p.b)?.endpoint ?? "";
      const ba = last.get(p.b)?.get(p.a)?.endpoint ?? "";
      p.endpoints = { ab, ba };
      const relays = [last.get(p.a)?.get(p.b), last.get(p.b)?.get(p.a)]
        .map((s) => s?.path ?? "")
        .filter((x) => x.startsWith("relay:")).map((x) => x.slice(6));
      if (p.up && relays.length > 0) p.relay = [...new Set(relays)].join("/");
      if (p.up) {
        p.path = [
          ...new Set([pathKind(plan, p.a, ab), pathKind(plan, p.b, ba)]),
        ].join("/");
      }
    }
    if (scenario.event) {
      result.event = await runEvent(
        scenario,
        plan,
        agents,
        result,
        limits,
        say,
      );
    }
    if (options.during) {
      const agentOf = (box: string) => {
        const a = agents.find((x) => x.box.spec.name === box);
        if (!a) throw new RangeError(`No box "${box}" in this scenario`);
        return a;
      };
      await options.during({
        plan,
        netns: (box) => agentOf(box).box.netns,
        logFile: (box) => `${agentOf(box).dir}/agent.log`,
        statuses: async (box) => (await snapshot([agentOf(box)])).get(box)!,
        meshAddress: async (box) =>
          (await apiList<{ address: string }>(agentOf(box).socket, "identity"))[
            0
          ]!
            .spec.address.split("/")[0]!,
        stopAgent: (box) => stopProcess(agentOf(box).process),
        pid: (box) => agentOf(box).process.pid,
      }, result);
    }
    return result;
  } catch (e) {
    result.error = (e as Error).message;
    say(`scenario ${scenario.id} (${options.mode}): ${result.error}`);
    return result;
  } finally {
    await cleanup();
    active.delete(cleanup);
  }
}

async function runEvent(
  scenario: Scenario,
  plan: LabPlan,
  agents: Agent[],
  result: ScenarioResult,
  limits: LabLimits,
  say: (line: string) => void,
): Promise<EventResult> {
  const event = scenario.event!;
  const out: EventResult = {
    kind: event.kind,
    sites: event.sites,
    skipped: result.fullMeshMs === undefined,
    recoverLimitMs: limits.recoverMs,
  };
  if (out.skipped) return out;
  const mesh = new Map<string, string>();
  for (const a of agents) {
    const id = await apiList<{ address: string }>(a.socket, "identity");
    mesh.set(a.box.spec.name, id[0]!.spec.address.split("/")[0]!);
  }
  const nsOf = new Map(agents.map((a) => [a.box.spec.name, a.box.netns]));
  const te = performance.now();
  for (const name of event.sites) {
    const site = plan.sites.find((s) => s.spec.name === name)!;
    if (event.kind === "rebind") await flushConntrack(site);
    else await renumberWan(plan, site);
  }
  say(`  event ${event.kind} on ${event.sites.join(", ")}`);
  const pending = new Map<PairResult, { ab: boolean; ba: boolean }>(
    result.pairs.map((p) => [p, { ab: false, ba: false }]),
  );
  while (pending.size > 0 && performance.now() - te < limits.recoverMs) {
    await Promise.all([...pending].map(async ([p, seen]) => {
      const [ab, ba] = await Promise.all([
        seen.ab || pingOnce(nsOf.get(p.a)!, mesh.get(p.b)!),
        seen.ba || pingOnce(nsOf.get(p.b)!, mesh.get(p.a)!),
      ]);
      seen.ab = ab;
      seen.ba = ba;
      if (ab && ba) {
        p.recoveredMs = Math.round(performance.now() - te);
        pending.delete(p);
        say(`  ${p.a}–${p.b} passes traffic again after ${p.recoveredMs} ms`);
      }
    }));
    if (pending.size > 0) await sleep(500);
  }
  if (pending.size === 0) {
    out.recoverMs = Math.max(...result.pairs.map((p) => p.recoveredMs ?? 0));
  }
  return out;
}
