/**
 * The late-start variant of scenario 2 (two cone NATs, nothing open), for
 * coordinated simultaneous open: w2 runs once (its affiliate stays in
 * discovery, as after a crash or a power cut), then w1 starts and searches
 * it; `--late` seconds later w2 comes back. The two sides learned of each
 * other far apart: w1 has searched w2 for `--late` seconds (down and slow
 * after 30 s), w2 starts a fresh search. Measures the time from w2's start
 * to the pair being up, with `endpoint-search`'s coordination on and off.
 *
 * ```sh
 * sudo npx deno run -A tests/lab/late_start.ts --late 40 --runs 3
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { apiList } from "../../build/demo/mesh_demo.ts";
import type { PeerStatusSpec } from "../../core/resources/specs.ts";
import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import { canUseNetns, randomSuffix, run } from "../_tools/netns.ts";
import { renderBoxConfig } from "./box_config.ts";
import { modeSettings } from "./modes.ts";
import { buildLab, type Lab } from "./network.ts";
import { planLab } from "./plan.ts";
import {
  randomBase64,
  spawnIn,
  startDiscovery,
  stopProcess,
  waitFor,
} from "./run.ts";
import { scenarioById } from "./scenarios.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** One run's figures. */
export interface LateStartResult {
  coordinate: boolean;
  lateMs: number;
  /** w1's state of w2 when w2 came back. */
  stateAtReturn: string;
  /** w1's candidates of w2, in try order. */
  candidates: string[];
  /** From w2's (second) start to both reporting the other up; absent = never. */
  upAfterMs?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function stateOf(socket: string, label: string): Promise<string> {
  try {
    const list = await apiList<PeerStatusSpec>(socket, "peerstatuses");
    return list.find((r) => r.spec.label === label)?.spec.state ?? "none";
  } catch {
    return "no answer";
  }
}

/** One run; never leaves a namespace or process behind. */
export async function runLateStart(
  options: {
    coordinate: boolean;
    lateMs: number;
    limitMs: number;
    /** Extra private addresses per box (a dummy link, like docker0). */
    extraAddresses: number;
  },
): Promise<LateStartResult> {
  const plan = planLab(scenarioById("2"), randomSuffix());
  const base = `${ROOT}.cache/lab/runs/${plan.suffix}`;
  const procs: Deno.ChildProcess[] = [];
  let lab: Lab | undefined;
  const result: LateStartResult = {
    coordinate: options.coordinate,
    lateMs: options.lateMs,
    stateAtReturn: "",
    candidates: [],
  };
  try {
    lab = await buildLab(plan);
    await Deno.mkdir(base, { recursive: true });
    for (const [k, box] of plan.sites.flatMap((s) => s.boxes).entries()) {
      if (options.extraAddresses === 0) break;
      const ip = (...args: string[]) =>
        run("ip", ["netns", "exec", box.netns, "ip", ...args]);
      // On the LAN link (up, with carrier), like a second subnet or a
      // container bridge's address: one more private candidate each.
      const route = await ip("-o", "route", "show", "default");
      const dev = route.stdout.match(/ dev (\S+)/)?.[1];
      if (!dev) throw new Error(`No default route in ${box.netns}`);
      for (let i = 0; i < options.extraAddresses; i++) {
        await ip("addr", "add", `172.${16 + i}.${k}.1/24`, "dev", dev);
      }
    }
    procs.push(await startDiscovery(plan, `${base}/discovery.log`));
    const mode = modeSettings(
      "edgespan",
      BUILTIN_PLUGINS.map((p) => ({
        name: p.name,
        discovery: p.hooks.includes("discovery"),
      })),
    );
    if (!options.coordinate) {
      mode.pluginOptions["endpoint-search"] = { coordinate: "false" };
    }
    const cluster = { id: randomBase64(32), secret: randomBase64(32) };
    const boxes = new Map(
      plan.sites.flatMap((s) => s.boxes).map((b) => [b.spec.name, b]),
    );
    const dirOf = (name: string) => `${base}/${name}`;
    for (const [name, box] of boxes) {
      await Deno.mkdir(dirOf(name), { recursive: true });
      await Deno.writeTextFile(
        `${dirOf(name)}/config.yaml`,
        renderBoxConfig({
          cluster,
          discovery: plan.internet.discovery,
          box,
          dir: dirOf(name),
          mode,
        }),
      );
    }
    const start = async (name: string, extra: string[] = []) => {
      const p = await spawnIn(boxes.get(name)!.netns, [
        "run",
        "--config",
        `${dirOf(name)}/config.yaml`,
        ...extra,
      ], `${dirOf(name)}/agent.log`);
      procs.push(p);
      return p;
    };
    const socket = (name: string) => `${dirOf(name)}/api.sock`;
    // w2 runs once and publishes itself; --cleanup takes its WireGuard
    // link (and wireguard-go) down with it, its affiliate stays.
    const first = await start("w2", ["--cleanup"]);
    await waitFor("w2 answering", 60_000, async () => {
      await apiList(socket("w2"), "identity");
      return true;
    });
    await sleep(3_000);
    await stopProcess(first);
    await Deno.remove(socket("w2")).catch(() => {});
    // w1 starts, finds w2's affiliate and searches it.
    await start("w1");
    await sleep(options.lateMs);
    result.stateAtReturn = await stateOf(socket("w1"), "w2");
    result.candidates = (await apiList<{ label: string; endpoints: string[] }>(
      socket("w1"),
      "peerspecs",
    )).find((r) => r.spec.label === "w2")?.spec.endpoints ?? [];
    const t1 = performance.now();
    await start("w2");
    while (performance.now() - t1 < options.limitMs) {
      const [ab, ba] = await Promise.all([
        stateOf(socket("w1"), "w2"),
        stateOf(socket("w2"), "w1"),
      ]);
      if (ab === "up" && ba === "up") {
        result.upAfterMs = Math.round(performance.now() - t1);
        break;
      }
      await sleep(250);
    }
    return result;
  } finally {
    await Promise.all(procs.map((p) => stopProcess(p)));
    await lab?.destroy();
    for (const name of ["w1", "w2"]) {
      await Deno.remove(`${base}/${name}/state`, { recursive: true }).catch(
        () => {},
      );
    }
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      late: { type: "string", default: "40" },
      runs: { type: "string", default: "3" },
      limit: { type: "string", default: "60" },
      coordinate: { type: "string", default: "both" },
      "extra-addresses": { type: "string", default: "0" },
    },
  });
  const lateMs = Number(values.late) * 1000;
  const runs = Number(values.runs);
  const limitMs = Number(values.limit) * 1000;
  const modes = values.coordinate === "both"
    ? [true, false]
    : [values.coordinate !== "off"];
  if (!(lateMs >= 0) || !(runs >= 1) || !(limitMs > 0)) {
    console.error("--late, --runs and --limit must be positive numbers");
    return 2;
  }
  const why = await canUseNetns();
  if (why) {
    console.error(`The lab cannot run here: ${why}`);
    return 2;
  }
  const results: LateStartResult[] = [];
  for (let i = 0; i < runs; i++) {
    for (const coordinate of modes) {
      const r = await runLateStart({
        coordinate,
        lateMs,
        limitMs,
        extraAddresses: Number(values["extra-addresses"]),
      });
      if (i === 0) {
        console.log(`w1's candidates of w2: ${r.candidates.join(" ")}`);
      }
      results.push(r);
      console.log(
        `coordinate ${coordinate ? "on " : "off"}  w2 back after ${
          lateMs / 1000
        } s (w1 had it ${r.stateAtReturn})  up after ${
          r.upAfterMs === undefined
            ? `never (${limitMs / 1000} s)`
            : `${(r.upAfterMs / 1000).toFixed(1)} s`
        }`,
      );
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
