/**
 * Runs the benchmarks and writes BENCHMARKS.md with its SVG plots
 * (`benchmarks/`). Outside CI's pass/fail: it prints and writes, never
 * fails on timing.
 *
 *   deno task bench-report [--quick]
 *
 * `--quick` runs fewer repeats and sizes (a smoke run of the pipeline).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runOk } from "../../build/run.ts";
import {
  type BenchData,
  type DiscoveryRun,
  type KernelRow,
  type Machine,
  parseDiscoveryRun,
  renderReport,
} from "../../build/bench/report.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const DENO = Deno.execPath();

async function machine(): Promise<Machine> {
  const cpu = /model name\s*:\s*(.+)/.exec(
    await Deno.readTextFile("/proc/cpuinfo"),
  )?.[1] ?? "unknown CPU";
  const mem = Number(
    /MemTotal:\s+(\d+)/.exec(await Deno.readTextFile("/proc/meminfo"))?.[1],
  );
  return {
    cpu: cpu.trim(),
    cores: navigator.hardwareConcurrency,
    memoryGb: mem / 1024 / 1024,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    load: Deno.loadavg()[0] ?? 0,
  };
}

async function bench(args: string[]): Promise<string> {
  const out = await runOk(DENO, ["run", "-A", ...args], { cwd: ROOT });
  console.log(out.trimEnd());
  return out;
}

function num(text: string, re: RegExp, what: string): number {
  const m = re.exec(text);
  if (!m) throw new Error(`Cannot find ${what} in the benchmark output`);
  return Number(m[1]);
}

async function kernel(rounds: number): Promise<KernelRow[]> {
  const rows: Record<string, KernelRow> = {
    routes: {
      name: "1000 routes, add",
      reference: "`ip -batch`",
      oursMs: [],
      theirsMs: [],
    },
    noop: {
      name: "1000 routes, applyRouting no-op (median of 10 passes)",
      reference: "",
      oursMs: [],
      theirsMs: [],
    },
    nft: {
      name: "1000 nft interval elements",
      reference: "`nft -f`",
      oursMs: [],
      theirsMs: [],
    },
    wgSet: {
      name: "configure 1000 peers, wireguard-go",
      reference: "`wg setconf`",
      oursMs: [],
      theirsMs: [],
    },
    wgGet: {
      name: "read back 1000 peers",
      reference: "`wg show dump`",
      oursMs: [],
      theirsMs: [],
    },
  };
  for (let r = 0; r < rounds; r++) {
    const routes = await bench(["tests/bench/routes_bench.ts"]);
    rows.routes!.oursMs.push(
      num(routes, /ours add[^:]*:\s*([\d.]+) ms/, "add"),
    );
    rows.routes!.theirsMs.push(
      num(routes, /ip -batch[^:]*:\s*([\d.]+) ms/, "ip -batch"),
    );
    rows.noop!.oursMs.push(num(routes, /no-op[^:]*:\s*([\d.]+) ms/, "no-op"));
    const nft = await bench(["tests/bench/nft_bench.ts"]);
    rows.nft!.oursMs.push(num(nft, /new table\):\s*([\d.]+) ms/, "nft ours"));
    rows.nft!.theirsMs.push(num(nft, /nft -f[^:]*:\s*([\d.]+) ms/, "nft -f"));
    const wg = await bench(["tests/bench/wg_bench.ts", "1000", "5"]);
    rows.wgSet!.oursMs.push(
      num(wg, /configure: ours\(UAPI\)=([\d.]+)ms/, "set"),
    );
    rows.wgSet!.theirsMs.push(num(wg, /wg-setconf=([\d.]+)ms/, "setconf"));
    rows.wgGet!.oursMs.push(
      num(wg, /read-back: ours\(UAPI\)=([\d.]+)ms/, "get"),
    );
    rows.wgGet!.theirsMs.push(num(wg, /wg-show-dump=([\d.]+)ms/, "dump"));
  }
  return Object.values(rows);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { quick: { type: "boolean" } },
  });
  const quick = values.quick ?? false;
  const data: BenchData = {
    generatedAt: new Date().toISOString().slice(0, 16).replace("T", " ") +
      " UTC",
    machine: await machine(),
  };
  const tmp = await Deno.makeTempDir({ prefix: "edgespan-bench-" });
  try {
    const sizes = quick ? "4" : "4,8,16";
    const repeat = quick ? "1" : "3";
    const meshArgs = [
      "tests/bench/mesh_bench.ts",
      sizes,
      "--repeat",
      repeat,
      "--join",
      "--json",
      `${tmp}/mesh.json`,
    ];
    await bench(meshArgs);
    data.mesh = {
      command: `deno run -A ${meshArgs.slice(0, -2).join(" ")}`,
      sizes: JSON.parse(await Deno.readTextFile(`${tmp}/mesh.json`)),
    };
    const kernelRounds = quick ? 1 : 3;
    data.kernel = {
      command:
        `deno run -A tests/bench/routes_bench.ts; deno run -A tests/bench/nft_bench.ts; deno run -A tests/bench/wg_bench.ts 1000 5   # ${kernelRounds} rounds`,
      rows: await kernel(kernelRounds),
    };
    const fpArgs = [
      "tests/bench/footprint_bench.ts",
      quick ? "1,64" : "1,16,64,256",
      "--repeat",
      quick ? "1" : "3",
      "--json",
      `${tmp}/footprint.json`,
    ];
    await bench(fpArgs);
    data.footprint = {
      command: `deno run -A ${fpArgs.slice(0, -2).join(" ")}`,
      ...JSON.parse(await Deno.readTextFile(`${tmp}/footprint.json`)),
    };
    const discoveryRounds = quick ? 1 : 3;
    const runs: DiscoveryRun[] = [];
    for (let r = 0; r < discoveryRounds; r++) {
      for (const connections of [10, 1000]) {
        const out = await bench([
          "tests/bench/discovery_bench.ts",
          "--connections",
          String(connections),
        ]);
        runs.push(parseDiscoveryRun(out, connections));
      }
    }
    data.discovery = {
      command:
        `deno run -A tests/bench/discovery_bench.ts --connections 10; deno run -A tests/bench/discovery_bench.ts --connections 1000   # ${discoveryRounds} rounds`,
      runs,
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  const report = renderReport(data);
  await Deno.mkdir(`${ROOT}benchmarks`, { recursive: true });
  for (const [name, text] of Object.entries(report.files)) {
    await Deno.writeTextFile(`${ROOT}benchmarks/${name}`, text);
  }
  await Deno.writeTextFile(`${ROOT}BENCHMARKS.md`, report.markdown);
  // the file is checked in: keep it as `deno fmt --check` wants it
  await runOk(DENO, ["fmt", "--quiet", `${ROOT}BENCHMARKS.md`], { cwd: ROOT });
  console.log(
    `wrote ${ROOT}BENCHMARKS.md and ${
      Object.keys(report.files).length
    } plots in ${ROOT}benchmarks/`,
  );
}
