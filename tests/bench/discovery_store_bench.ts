/**
 * Discovery benchmark (not a test) on each store, side by side: memory
 * (1 process) and etcd (3-member etcd on loopback) with 1 and 2 replicas,
 * 1024 affiliates × 64 endpoints and 1000 watchers each. Runs
 * `discovery_bench.ts` once per column and prints its figures as a table;
 * never fails on timing.
 *
 *   deno run -A tests/bench/discovery_store_bench.ts [--watchers N]
 */
import { parseArgs } from "node:util";
import { etcdSkipReason } from "../_tools/etcd_cluster.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { watchers: { type: "string", default: "1000" } },
});

const BENCH = new URL("./discovery_bench.ts", import.meta.url).pathname;

const ROWS: [string, RegExp][] = [
  ["seed, updates/s (32 in flight)", /seed: .* = (\d+) updates\/s/],
  ["1000 snapshots, s", /snapshots \(.*\) over .* in ([\d.]+) s/],
  ["fan-out p50, ms", /fan-out: .* p50 ([\d.]+) ms/],
  ["fan-out p99, ms", /fan-out: .* p99 ([\d.]+) ms/],
  ["updates/s with watchers (8 in flight)", /watchers: (\d+) updates\/s/],
  ["watch streams ended", /streams ended \(lost update or error\): (\d+)/],
  ["replica 1 RSS peak, MB", /peak \(VmHWM\) (\d+) MB/],
];

const columns: { name: string; args: string[] }[] = [
  { name: "memory ×1", args: ["--store", "memory"] },
  { name: "etcd ×1", args: ["--store", "etcd", "--replicas", "1"] },
  { name: "etcd ×2", args: ["--store", "etcd", "--replicas", "2"] },
];

const skip = await etcdSkipReason();
const results: (string[] | string)[] = [];
for (const col of columns) {
  if (skip && col.args.includes("etcd")) {
    results.push(`skipped: ${skip}`);
    continue;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BENCH, "--watchers", values.watchers!, ...col.args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  console.log(`--- ${col.name}\n${text.trim()}`);
  if (!out.success) {
    results.push(`failed: ${new TextDecoder().decode(out.stderr).slice(-300)}`);
    continue;
  }
  results.push(ROWS.map(([, re]) => re.exec(text)?.[1] ?? "?"));
}

const w0 = Math.max(...ROWS.map(([n]) => n.length));
const cell = (s: string) => s.padStart(11);
console.log(
  `\n${"".padEnd(w0)} | ${columns.map((c) => cell(c.name)).join(" | ")} | ${
    cell("memory ×2")
  }`,
);
ROWS.forEach(([name], i) => {
  console.log(
    `${name.padEnd(w0)} | ${
      results.map((r) => cell(typeof r === "string" ? "-" : r[i]!)).join(
        " | ",
      )
    } | ${cell("n/a")}`,
  );
});
for (const [i, r] of results.entries()) {
  if (typeof r === "string") console.log(`${columns[i]!.name}: ${r}`);
}
console.log(
  "memory ×2: n/a — the memory store lives in one process; replicas need etcd.",
);
