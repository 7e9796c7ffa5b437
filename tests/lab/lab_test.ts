/**
 * The fast lab scenarios (1, 2, 4, 5) in `edgespan` mode: real agents behind
 * NAT routers in network namespaces. Asserts what edgespan does today; the
 * full matrix (both modes, every scenario) runs with `deno task lab`.
 */
import { canUseNetns, run } from "../_tools/netns.ts";
import { assert, assertEquals } from "../_tools/assert.ts";
import { LAB_PACKAGES } from "./main.ts";
import type { PairResult, ScenarioResult } from "./report.ts";
import { runScenario } from "./run.ts";
import { scenarioById } from "./scenarios.ts";

const DIR = new URL("../../.cache/test-lab", import.meta.url).pathname;

async function missingTools(): Promise<string | undefined> {
  // Scenarios 1, 2, 4 and 5 need no conntrack tool (only 9 flushes).
  for (const t of ["nft", "wireguard-go", "busybox"]) {
    if ((await run("sh", ["-c", `command -v ${t}`])).code !== 0) {
      return `${t} is missing (install: ${LAB_PACKAGES.join(" ")})`;
    }
  }
  return undefined;
}

const skip = (await canUseNetns()) ?? (await missingTools());
if (skip) console.log(`tests/lab: skipped: ${skip}`);

async function labNamespaces(): Promise<string[]> {
  const out = await run("ip", ["netns", "list"]);
  return out.stdout.split("\n").map((l) => l.split(" ")[0]!)
    .filter((n) => n.startsWith("esl"));
}

/** Runs a scenario and checks that it left no namespace behind. */
async function measure(id: string): Promise<ScenarioResult> {
  const r = await runScenario(scenarioById(id), {
    mode: "edgespan",
    dir: DIR,
    progress: (l) => console.log(l),
  });
  const leaked = (await labNamespaces()).filter((n) => n.includes(r.suffix));
  assertEquals(leaked, [], "namespaces left behind");
  assertEquals(r.error, undefined, "the lab itself failed");
  return r;
}

function pair(r: ScenarioResult, a: string, b: string): PairResult {
  const p = r.pairs.find((x) => x.a === a && x.b === b);
  assert(p, `pair ${a}–${b} is in scenario ${r.scenario}`);
  return p;
}

function assertAllUp(r: ScenarioResult): void {
  const down = r.pairs.filter((p) => !p.up).map((p) => `${p.a}–${p.b}`);
  assertEquals(down, [], `scenario ${r.scenario}: pairs not up`);
  assert(r.fullMeshMs !== undefined && r.fullMeshMs < r.meshLimitMs);
  console.log(
    `scenario ${r.scenario}: full mesh in ${
      (r.fullMeshMs / 1000).toFixed(1)
    } s; paths ${r.pairs.map((p) => `${p.a}–${p.b} ${p.path}`).join(", ")}`,
  );
}

const opts = { ignore: !!skip, sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "lab 1: open site + two cone NATs: every pair up, workers over WAN",
  ...opts,
  async fn() {
    const r = await measure("1");
    assertAllUp(r);
    assertEquals(pair(r, "w1", "w2").path, "WAN");
  },
});

Deno.test({
  name: "lab 2: two cone NATs, nothing open: the pair punches through",
  ...opts,
  async fn() {
    const r = await measure("2");
    assertAllUp(r);
    assertEquals(pair(r, "w1", "w2").path, "WAN");
  },
});

Deno.test({
  name: "lab 4: two boxes behind one NAT talk over their LAN, not the router",
  ...opts,
  async fn() {
    const r = await measure("4");
    assertAllUp(r);
    assertEquals(pair(r, "w1", "w2").path, "LAN");
    assertEquals(pair(r, "cp", "w1").path, "WAN");
    assertEquals(pair(r, "cp", "w2").path, "WAN");
  },
});

Deno.test({
  name: "lab 5: both boxes behind one NAT on 51820: every pair up",
  ...opts,
  async fn() {
    const r = await measure("5");
    assertAllUp(r);
    assertEquals(pair(r, "w1", "w2").path, "LAN");
    // One of the two cannot be at the WAN:51820 both publish; the open box
    // reaches it at the port the router really mapped (WireGuard roaming).
    const cp = [pair(r, "cp", "w1"), pair(r, "cp", "w2")].map((p) =>
      p.endpoints!.ab.split(":")[1]
    );
    assert(
      cp.includes("51820") && cp.some((port) => port !== "51820"),
      `cp reaches w1/w2 at ports ${cp.join(", ")}`,
    );
  },
});
