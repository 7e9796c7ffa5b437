/**
 * `deno task lab [--scenario S[,S…]] [--mode kubespan|edgespan]`: runs the
 * connectivity lab of issue #13 (NAT routers and firewalls in network
 * namespaces), prints one table and writes it as JSON and Markdown under
 * `.cache/lab/`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ensureDebianPackages } from "../../build/demo/packages.ts";
import { canUseNetns } from "../_tools/netns.ts";
import { LAB_MODES, type LabMode, parseMode } from "./modes.ts";
import {
  renderJson,
  renderMarkdown,
  renderText,
  type ScenarioResult,
} from "./report.ts";
import { cleanUpAll, DEFAULT_LIMITS, runScenario } from "./run.ts";
import { type Scenario, scenarioById, SCENARIOS } from "./scenarios.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Debian packages the lab needs. */
export const LAB_PACKAGES = [
  "iproute2",
  "nftables",
  "wireguard-go",
  "busybox-static",
  "conntrack",
  "tcpdump",
];

const USAGE =
  `Usage: deno task lab [--scenario S[,S...]] [--mode kubespan|edgespan]
                     [--mesh-limit SECONDS] [--recover-limit SECONDS]

Runs the NAT/firewall lab: an internet namespace with the discovery service,
a NAT or firewall router per site, real agents (wireguard-go) behind them.
Without --scenario every scenario runs; without --mode both modes run.
The limits override the mode's defaults (below) for every scenario.
Prints one table and writes .cache/lab/lab.json and .cache/lab/lab.md.

Scenarios:
${SCENARIOS.map((s) => `  ${s.id.padStart(2)}  ${s.title}`).join("\n")}

Modes: kubespan (KubeSpan's behaviour only; limits ${
    DEFAULT_LIMITS.kubespan.meshMs / 1000
  } s to mesh, ${DEFAULT_LIMITS.kubespan.recoverMs / 1000} s to recover),
       edgespan (every built-in plugin; limits ${
    DEFAULT_LIMITS.edgespan.meshMs / 1000
  } s / ${DEFAULT_LIMITS.edgespan.recoverMs / 1000} s)`;

async function main(): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: Deno.args,
      options: {
        scenario: { type: "string", short: "s" },
        mode: { type: "string", short: "m" },
        "mesh-limit": { type: "string" },
        "recover-limit": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let scenarios: Scenario[];
  let modes: LabMode[];
  try {
    scenarios = values.scenario
      ? values.scenario.split(",").map((s) => scenarioById(s.trim()))
      : [...SCENARIOS];
    modes = values.mode ? [parseMode(values.mode)] : [...LAB_MODES];
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const limitOf = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) {
      throw new RangeError(
        `--${name} must be a number of seconds, got "${text}"`,
      );
    }
    return n * 1000;
  };
  let meshLimit: number | undefined;
  let recoverLimit: number | undefined;
  try {
    meshLimit = limitOf("mesh-limit", values["mesh-limit"]);
    recoverLimit = limitOf("recover-limit", values["recover-limit"]);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const why = await canUseNetns();
  if (why) {
    console.error(`The lab cannot run here: ${why}`);
    return 2;
  }
  await ensureDebianPackages(LAB_PACKAGES, (l) => console.log(l));
  const stop = () =>
    void cleanUpAll().then(() => {
      console.error("interrupted: lab removed");
      Deno.exit(130);
    });
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const out = `${ROOT}.cache/lab`;
  await Deno.mkdir(out, { recursive: true });
  const started = new Date().toISOString();
  const results: ScenarioResult[] = [];
  for (const s of scenarios) {
    for (const mode of modes) {
      results.push(
        await runScenario(s, {
          mode,
          dir: `${out}/runs`,
          limits: {
            meshMs: meshLimit ?? DEFAULT_LIMITS[mode].meshMs,
            recoverMs: recoverLimit ?? DEFAULT_LIMITS[mode].recoverMs,
          },
          progress: (l) => console.log(l),
        }),
      );
    }
  }
  const table = renderText(results);
  console.log(`\n${table}`);
  await Deno.writeTextFile(`${out}/lab.md`, renderMarkdown(results));
  await Deno.writeTextFile(
    `${out}/lab.json`,
    renderJson(results, { started, finished: new Date().toISOString() }),
  );
  console.log(`written: ${out}/lab.md, ${out}/lab.json`);
  return results.some((r) => r.error) ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
