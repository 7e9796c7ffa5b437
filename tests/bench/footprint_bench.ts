/**
 * The agent's footprint: resident memory with N peers and the time from
 * process start to the local API answering, from the warm single file;
 * next to Deno's own floor (an empty script) measured in the same run.
 *
 *   deno run -A tests/bench/footprint_bench.ts [1,16,64,256] [--repeat 3] [--json FILE]
 *
 * Each agent runs alone in a fresh network namespace (`unshare -n`) with
 * wireguard-go and N peers from the `discovery-static` plugin (endpoints
 * that never answer, so nothing but the agent's own state grows). RSS is
 * read from /proc 3 s after every peer is configured. Prints, never fails
 * on timing or size.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { bundledCommand } from "./_bundle.ts";
import { cpuMsOfPid, fetchTimeline } from "./mesh_bench.ts";
import { canUseNetns } from "../_tools/netns.ts";

const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";

/** One measurement. */
export interface FootprintRun {
  peers: number;
  /** VmRSS in MB, 3 s after every peer was configured. */
  rssMb: number;
  /** VmHWM (peak RSS) in MB at the same moment. */
  peakMb: number;
  /** Of the RSS: file-backed pages (the runtime binary's code and data the process touched), MB. */
  fileMb: number;
  /** Of the RSS: anonymous memory (heaps, stacks, JIT code), MB. */
  anonMb: number;
  /** ms from spawn to the API listening. */
  apiReadyMs: number;
  /** CPU time (user + system) the agent used from spawn to the RSS reading, ms. */
  cpuMs: number;
}

function key(i: number, salt: number): string {
  const b = new Uint8Array(32);
  b[0] = salt;
  b[1] = i >> 8;
  b[2] = i & 255;
  b[31] = 9;
  return btoa(String.fromCharCode(...b));
}

function config(dir: string, peers: number): string {
  const list = Array.from(
    { length: peers },
    (_, i) =>
      `      - publicKey: "${key(i, 1)}"\n` +
      `        address: "fd00:77::${(i + 2).toString(16)}"\n` +
      `        endpoints: ["10.251.${i >> 8}.${i & 255}:51820"]\n` +
      `        networks: ["10.${100 + (i >> 8)}.${i & 255}.0/24"]\n` +
      `        hostname: "peer-${i}"\n`,
  ).join("");
  return `cluster: {id: footprint, secret: "${SECRET}"}
node: {stateDir: ${dir}/state, hostname: footprint}
discovery: {endpoints: []}
wireguard: {backend: userspace, interface: esfp0}
api: {listen: "127.0.0.1:7443", socket: ${dir}/api.sock}
reconcile: {interval: 30s}
log: {format: logfmt, level: warn}
plugins:
  discovery-service: false
  discovery-static:
    enabled: true
    peers:
${list || "      []\n"}`;
}

function statusKb(pid: number, field: string): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

async function agentRun(
  command: string[],
  peers: number,
): Promise<FootprintRun> {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-footprint-" });
  await Deno.writeTextFile(`${dir}/config.yaml`, config(dir, peers));
  const quoted = [
    ...command,
    "run",
    "--config",
    `${dir}/config.yaml`,
    "--cleanup",
  ]
    .map((a) => `'${a}'`).join(" ");
  const spawnedAt = Date.now();
  const child = new Deno.Command("unshare", {
    args: [
      "-n",
      "sh",
      "-c",
      `ip link set lo up; ip link add d0 type dummy; ip addr add 10.250.0.1/16 dev d0; ip link set d0 up; exec ${quoted}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const errText = child.stderr.pipeThrough(new TextDecoderStream())
    .pipeTo(new WritableStream());
  try {
    const until = Date.now() + 60_000;
    for (;;) {
      if (Date.now() > until) throw new Error(`${peers} peers: no convergence`);
      try {
        const t = await fetchTimeline(`${dir}/api.sock`);
        const configured = Object.values(t.peers).filter((p) =>
          p.configured !== undefined
        ).length;
        if (configured >= peers && t.events.firstPass !== undefined) {
          await new Promise((r) => setTimeout(r, 3000));
          return {
            peers,
            rssMb: statusKb(child.pid, "VmRSS") / 1024,
            peakMb: statusKb(child.pid, "VmHWM") / 1024,
            fileMb: statusKb(child.pid, "RssFile") / 1024,
            anonMb: statusKb(child.pid, "RssAnon") / 1024,
            cpuMs: cpuMsOfPid(child.pid),
            apiReadyMs: t.timeOrigin - spawnedAt + (t.events.apiReady ?? NaN),
          };
        }
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await errText.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

/** A floor: RSS of a script that only reads its own memory, and its spawn to exit. */
export interface FloorRun {
  rssMb: number;
  fileMb: number;
  anonMb: number;
  startMs: number;
}

/**
 * Runs `args` + a script that prints its own memory after `prelude`:
 * Deno's floor with nothing loaded, or with the program's code loaded.
 */
async function floorRun(args: string[], prelude: string): Promise<FloorRun> {
  const file = await Deno.makeTempFile({ suffix: ".js" });
  await Deno.writeTextFile(
    file,
    `${prelude}
const s = Deno.readTextFileSync("/proc/self/status");
const kb = (k) => Number(s.split("\\n").find((l) => l.startsWith(k + ":")).split(/\\s+/)[1]);
console.log(JSON.stringify([kb("VmRSS"), kb("RssFile"), kb("RssAnon")]));`,
  );
  try {
    const t0 = performance.now();
    const out = await new Deno.Command(args[0]!, {
      args: [...args.slice(1), file],
      stdout: "piped",
    }).output();
    const startMs = performance.now() - t0;
    const [rss, fileKb, anon] = JSON.parse(
      new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!,
    ) as number[];
    return {
      rssMb: rss! / 1024,
      fileMb: fileKb! / 1024,
      anonMb: anon! / 1024,
      startMs,
    };
  } finally {
    await Deno.remove(file);
  }
}

/** Deno's own floor: an empty script. */
function denoFloor(): Promise<FloorRun> {
  return floorRun([Deno.execPath(), "run", "-A", "--no-config"], "");
}

/**
 * Deno with edgespan's code loaded and evaluated (the bundle imported, so
 * its `main` does not run) under the agent's own flags: the floor before
 * the agent does anything.
 */
function loadedFloor(command: string[]): Promise<FloorRun> {
  const bundle = command.at(-1)!;
  return floorRun(
    command.slice(0, -1),
    `await import(${JSON.stringify(`file://${bundle}`)});`,
  );
}

/** Everything the footprint benchmark measured, for the report. */
export interface FootprintResult {
  runs: FootprintRun[];
  floor: FloorRun[];
  /** The program's code loaded, no agent started. */
  loaded: FloorRun[];
}

function med(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { repeat: { type: "string" }, json: { type: "string" } },
  });
  const why = await canUseNetns();
  if (why) {
    console.log(`footprint_bench skipped: ${why}`);
    Deno.exit(0);
  }
  const sizes = (positionals[0] ?? "1,16,64,256").split(",").map(Number);
  const repeat = Number(values.repeat ?? "3");
  const command = await bundledCommand();
  const result: FootprintResult = { runs: [], floor: [], loaded: [] };
  for (let r = 0; r < repeat; r++) {
    result.floor.push(await denoFloor());
    result.loaded.push(await loadedFloor(command));
    for (const n of sizes) result.runs.push(await agentRun(command, n));
  }
  const f = (x: number) => x.toFixed(1);
  const range = (xs: number[]) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
  console.log(
    "peers | RSS MB (median, range) | file-backed MB | anonymous MB | peak MB | API ready ms | CPU ms to settle",
  );
  console.log("---|---|---|---|---|---|---");
  for (const n of sizes) {
    const rs = result.runs.filter((x) => x.peers === n);
    console.log(
      `${n} | ${f(med(rs.map((x) => x.rssMb)))} (${
        range(rs.map((x) => x.rssMb))
      }) | ${f(med(rs.map((x) => x.fileMb)))} | ${
        f(med(rs.map((x) => x.anonMb)))
      } | ${f(med(rs.map((x) => x.peakMb)))} | ${
        f(med(rs.map((x) => x.apiReadyMs)))
      } (${range(rs.map((x) => x.apiReadyMs))}) | ${
        f(med(rs.map((x) => x.cpuMs)))
      }`,
    );
  }
  for (
    const [name, runs] of [
      ["Deno floor (empty script)", result.floor],
      ["Deno with edgespan's code loaded", result.loaded],
    ] as const
  ) {
    console.log(
      `${name}: RSS ${f(med(runs.map((x) => x.rssMb)))} MB (file-backed ${
        f(med(runs.map((x) => x.fileMb)))
      }, anonymous ${f(med(runs.map((x) => x.anonMb)))}), spawn to exit ${
        f(med(runs.map((x) => x.startMs)))
      } ms`,
    );
  }
  if (values.json) {
    await Deno.writeTextFile(values.json, JSON.stringify(result, null, 1));
  }
}
