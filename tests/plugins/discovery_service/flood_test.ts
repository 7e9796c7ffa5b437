/**
 * The discovery service under an affiliate flood, on loopback only: a child
 * process pushes max-size affiliates from 120 source addresses (127.0.0.2 …)
 * for 4 s while a legitimate client on 127.0.0.1 updates its affiliate and
 * watches its cluster. The server runs as its own process with the default
 * limits and the production V8 flags; its peak RSS (VmHWM) must stay bounded
 * and the flood must be refused with ResourceExhausted once the affiliate
 * total is reached. Prints the figures.
 */
import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { assert, assertEquals } from "../../_tools/assert.ts";
import { V8_FLAGS } from "../../../core/runtime_flags.ts";
import { DEFAULT_LIMITS } from "../../../plugins/discovery_service/server/limits.ts";
import { rawClient } from "./_harness.ts";
import { exclusive } from "./_exclusive.ts";

const SOURCES = 120;
const FLOOD_SECONDS = 4;
/**
 * Peak RSS allowed. Before the totals existed the same flood took the
 * server from ~55 MB to ~650 MB (13.8 k affiliates); with them it stays
 * near 160 MB.
 */
const RSS_BOUND_MB = 300;

function memoryMB(pid: number): { rss: number; hwm: number } {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (k: string) =>
    Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function startServer() {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `--v8-flags=${V8_FLAGS}`,
      new URL(
        "../../../plugins/discovery_service/server/cli.ts",
        import.meta.url,
      ).pathname,
      "--listen",
      "127.0.0.1:0",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  let port = 0;
  while (port === 0) {
    const r = await reader.read();
    if (r.done) throw new Error(`server exited: ${log}`);
    log += r.value;
    port = Number(/"port":(\d+)/.exec(log)?.[1] ?? 0);
  }
  const drained = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })().catch(() => {});
  return {
    child,
    port,
    async stop() {
      try {
        Deno.kill(child.pid, "SIGKILL");
      } catch { /* exited */ }
      await child.status;
      await drained;
    },
  };
}

Deno.test("discovery flood: memory stays bounded, the overflow gets ResourceExhausted, a legit watcher keeps up", () =>
  exclusive("discovery-heavy-tests", floodRun));

/** The flood run (while no other heavy test of this folder runs). */
async function floodRun(): Promise<void> {
  const server = await startServer();
  let flood: Deno.ChildProcess | undefined;
  // Never hang the suite.
  const guard = setTimeout(() => {
    for (const pid of [server.child.pid, flood?.pid]) {
      try {
        if (pid) Deno.kill(pid, "SIGKILL");
      } catch { /* exited */ }
    }
  }, 40_000);
  const ac = new AbortController();
  try {
    const before = memoryMB(server.child.pid);
    const updater = rawClient(server.port);
    const watcher = rawClient(server.port);
    const ttl = create(DurationSchema, { seconds: 600n });
    const probe = (n: number) =>
      updater.affiliateUpdate({
        clusterId: "legit",
        affiliateId: "node-0",
        affiliateData: new Uint8Array([n >> 8, n & 0xff]),
        ttl,
      });
    await probe(0);
    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    let ready!: () => void;
    const snapshot = new Promise<void>((r) => (ready = r));
    const watching = (async () => {
      let first = true;
      for await (
        const m of watcher.watch({ clusterId: "legit" }, { signal: ac.signal })
      ) {
        if (first) {
          first = false;
          ready();
          continue;
        }
        const d = m.affiliates[0]?.data;
        const n = d && d.length === 2 ? (d[0]! << 8) | d[1]! : -1;
        const t = sentAt.get(n);
        if (t !== undefined) latencies.push(performance.now() - t);
      }
    })().catch((err) => {
      if (!ac.signal.aborted) throw err;
    });
    await snapshot;

    flood = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./_flood_child.ts", import.meta.url).pathname,
        String(server.port),
        String(SOURCES),
        String(FLOOD_SECONDS),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const floodOut = flood.output();
    let probes = 0;
    let rssCeiling = before.rss;
    const until = performance.now() + FLOOD_SECONDS * 1000;
    while (performance.now() < until) {
      const n = ++probes;
      sentAt.set(n, performance.now());
      await probe(n);
      rssCeiling = Math.max(rssCeiling, memoryMB(server.child.pid).rss);
      await new Promise((r) => setTimeout(r, 60));
    }
    const out = await floodOut;
    flood = undefined;
    const outcomes: Record<string, number> = JSON.parse(
      new TextDecoder().decode(out.stdout),
    );
    await new Promise((r) => setTimeout(r, 300));
    const after = memoryMB(server.child.pid);
    const metrics =
      await (await fetch(`http://127.0.0.1:${server.port}/metrics`))
        .text();
    const affiliates = Number(
      /^edgespan_discovery_affiliates (\d+)$/m.exec(metrics)?.[1],
    );
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    console.log(
      `flood from ${SOURCES} addresses for ${FLOOD_SECONDS} s: ${
        JSON.stringify(outcomes)
      }; affiliates held ${affiliates}; server RSS before ${
        before.rss.toFixed(0)
      } MB, ceiling ${Math.max(rssCeiling, after.hwm).toFixed(0)} MB ` +
        `(VmHWM), after ${
          after.rss.toFixed(0)
        } MB; legit watcher ${latencies.length}/${probes} updates, ` +
        `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
    );

    const full =
      `8:too many affiliates in the service (limit ${DEFAULT_LIMITS.totalAffiliatesMax})`;
    assert(
      (outcomes[full] ?? 0) > 0,
      `the flood was never refused: ${JSON.stringify(outcomes)}`,
    );
    assertEquals(affiliates, DEFAULT_LIMITS.totalAffiliatesMax);
    assert(
      after.hwm < RSS_BOUND_MB,
      `server peak RSS ${after.hwm.toFixed(0)} MB >= ${RSS_BOUND_MB} MB`,
    );
    // Every legit update reached the watcher. The slow ones fall in the
    // first second or two, while the state fills up (V8 grows its heap in
    // small steps); once full, refusals are cheap and deliveries take ms.
    assertEquals(latencies.length, probes);
    assert(p99 < 3_000, `legit watcher p99 ${p99.toFixed(0)} ms`);
    ac.abort();
    await watching;
  } finally {
    ac.abort();
    clearTimeout(guard);
    if (flood) {
      try {
        flood.kill("SIGKILL");
      } catch { /* exited */ }
      await flood.status;
    }
    await server.stop();
  }
}
