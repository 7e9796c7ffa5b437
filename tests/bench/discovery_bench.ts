/**
 * Discovery service benchmark (not a test): one cluster of 1024 affiliates ×
 * 64 endpoints and 1000 watchers on loopback. Prints update throughput,
 * watch fan-out latency p50/p99 and the server's RSS.
 *
 *   deno run -A tests/bench/discovery_bench.ts [--watchers N] [--probes N]
 *     [--server-v8-flags F]  (V8 flags of the server; default: core/runtime_flags.ts)
 *     [--store memory|etcd]  (etcd: a 3-member etcd on loopback, Debian etcd-server)
 *     [--replicas N]         (servers sharing the etcd store; watchers, seed,
 *                             probes and updates spread over them)
 *
 * `tests/bench/discovery_store_bench.ts` runs memory / etcd × 1 / 2 replicas
 * and prints them side by side.
 *
 * The server runs as its own process (`discovery serve`); the watchers are
 * raw HTTP/2 streams that only count gRPC frames, so the client side stays
 * cheap and the figures are the server's.
 */
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { WatchRequestSchema } from "../../proto/gen/sidero/discovery/server/cluster_pb.ts";
import { rawClient } from "../plugins/discovery_service/_harness.ts";
import { openRawWatchers } from "./_raw_watchers.ts";
import { V8_FLAGS } from "../../core/runtime_flags.ts";
import { type EtcdCluster, startEtcdCluster } from "../_tools/etcd_cluster.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    watchers: { type: "string", default: "1000" },
    affiliates: { type: "string", default: "1024" },
    endpoints: { type: "string", default: "64" },
    probes: { type: "string", default: "200" },
    connections: { type: "string", default: "10" },
    "server-v8-flags": { type: "string", default: V8_FLAGS },
    store: { type: "string", default: "memory" },
    replicas: { type: "string", default: "1" },
  },
});
const STORE = values.store;
const REPLICAS = Number(values.replicas);
if (STORE !== "memory" && STORE !== "etcd") {
  console.error(`--store must be memory or etcd, got "${STORE}"`);
  Deno.exit(2);
}
if (STORE === "memory" && REPLICAS !== 1) {
  console.error("--replicas > 1 needs --store etcd (memory is one process)");
  Deno.exit(2);
}
const WATCHERS = Number(values.watchers);
const AFFILIATES = Number(values.affiliates);
const ENDPOINTS = Number(values.endpoints);
const PROBES = Number(values.probes);
const SESSIONS = Number(values.connections);
const CLUSTER = "bench";
const deadline = Date.now() + 60_000;

function rssMB(pid: number): { rss: number; hwm: number } {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (k: string) =>
    Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

let etcd: EtcdCluster | undefined;
if (STORE === "etcd") etcd = await startEtcdCluster();

async function startServer(): Promise<{ pid: number; port: number }> {
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(values["server-v8-flags"]
        ? [`--v8-flags=${values["server-v8-flags"]}`]
        : []),
      new URL("../../plugins/discovery_service/server/cli.ts", import.meta.url)
        .pathname,
      "--listen",
      "127.0.0.1:0",
      "--rate",
      "1000000",
      "--burst",
      "1000000",
      ...(etcd
        ? [
          "--store",
          `etcd://${
            etcd.endpoints.map((e) => e.slice("http://".length)).join(",")
          }`,
        ]
        : []),
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const errReader = server.stderr.pipeThrough(new TextDecoderStream())
    .getReader();
  let port = 0;
  let log = "";
  while (port === 0) {
    const r = await errReader.read();
    if (r.done) throw new Error(`server exited: ${log}`);
    log += r.value;
    port = Number(/"port":(\d+)/.exec(log)?.[1] ?? 0);
  }
  (async () => {
    while (!(await errReader.read()).done) { /* drain */ }
  })();
  return { pid: server.pid, port };
}

const servers: { pid: number; port: number }[] = [];
for (let i = 0; i < REPLICAS; i++) servers.push(await startServer());
const server = servers[0]!;
const port = server.port;
const clients = servers.map((s) => rawClient(s.port));
const ttl = create(DurationSchema, { seconds: 1800n });
const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const endpointsOf = (i: number) =>
  Array.from({ length: ENDPOINTS }, (_, j) => {
    const e = rnd(16);
    e[0] = i & 0xff;
    e[1] = j;
    return e;
  });

console.log(
  `store ${STORE}, ${REPLICAS} replica(s); server pid ${server.pid} port ${port}; idle RSS ${
    rssMB(server.pid).rss.toFixed(0)
  } MB`,
);

// Phase 1: seed.
let t0 = performance.now();
let next = 0;
await Promise.all(Array.from({ length: 32 }, async () => {
  while (next < AFFILIATES) {
    const i = next++;
    await clients[i % REPLICAS]!.affiliateUpdate({
      clusterId: CLUSTER,
      affiliateId: `node-${i}`,
      affiliateData: rnd(400),
      affiliateEndpoints: endpointsOf(i),
      ttl,
    });
  }
}));
let secs = (performance.now() - t0) / 1000;
console.log(
  `seed: ${AFFILIATES} affiliates × ${ENDPOINTS} endpoints in ${
    secs.toFixed(2)
  } s = ${
    (AFFILIATES / secs).toFixed(0)
  } updates/s (32 in flight, no watchers); RSS ${
    rssMB(server.pid).rss.toFixed(0)
  } MB`,
);

// Phase 2: watchers.
const body = toBinary(
  WatchRequestSchema,
  create(WatchRequestSchema, { clusterId: CLUSTER }),
);
let snapshots = 0;
let snapshotBytes = 0;
t0 = performance.now();
let allSnapshots!: () => void;
const snapshotDone = new Promise<void>((r) => (allSnapshots = r));
const raws = await Promise.all(servers.map((s, i) => {
  const share = Math.floor(WATCHERS / REPLICAS) +
    (i < WATCHERS % REPLICAS ? 1 : 0);
  return openRawWatchers(
    s.port,
    body,
    share,
    Math.max(1, Math.round(SESSIONS / REPLICAS)),
    (w) => {
      snapshotBytes += w.snapshotBytes;
      if (++snapshots === WATCHERS) allSnapshots();
    },
  );
}));
const watchers = raws.flatMap((r) => r.watchers);
const raw = { close: () => raws.forEach((r) => r.close()) };
await Promise.race([
  snapshotDone,
  new Promise((r) =>
    setTimeout(r, Math.max(1000, deadline - Date.now() - 25_000))
  ),
]);
secs = (performance.now() - t0) / 1000;
const afterWatch = rssMB(server.pid);
console.log(
  `watch: ${snapshots}/${WATCHERS} snapshots (${
    (snapshotBytes / snapshots / 1024).toFixed(0)
  } KiB each) over ${SESSIONS} connections in ${secs.toFixed(2)} s; RSS ${
    afterWatch.rss.toFixed(0)
  } MB`,
);

// Phase 3: fan-out latency, one probe update at a time.
const lat: number[] = [];
let probes = 0;
for (let p = 0; p < PROBES && Date.now() < deadline - 10_000; p++) {
  const live = watchers.filter((w) => w.messages > 0);
  let pending = live.length;
  const start = performance.now();
  const done = new Promise<void>((resolve) => {
    for (const w of live) {
      w.onMessage = () => {
        w.onMessage = undefined;
        lat.push(performance.now() - start);
        if (--pending === 0) resolve();
      };
    }
  });
  await clients[p % REPLICAS]!.affiliateUpdate({
    clusterId: CLUSTER,
    affiliateId: `node-${p % AFFILIATES}`,
    affiliateData: rnd(400),
    ttl,
  });
  await Promise.race([done, new Promise((r) => setTimeout(r, 5_000))]);
  for (const w of live) w.onMessage = undefined;
  probes++;
}
console.log(
  `fan-out: ${probes} updates × ${snapshots} watchers: p50 ${
    pct(lat, 50).toFixed(1)
  } ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${
    pct(lat, 100).toFixed(1)
  } ms (${lat.length} deliveries)`,
);

// Phase 4: update throughput with every watcher attached (data changes → fan-out).
t0 = performance.now();
let sent = 0;
const until = performance.now() + 5_000;
await Promise.all(Array.from({ length: 8 }, async () => {
  while (performance.now() < until) {
    const n = sent++;
    await clients[n % REPLICAS]!.affiliateUpdate({
      clusterId: CLUSTER,
      affiliateId: `node-${n % AFFILIATES}`,
      affiliateData: rnd(400),
      ttl,
    });
  }
}));
secs = (performance.now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 500));
const end = rssMB(server.pid);
console.log(
  `updates with ${snapshots} watchers: ${
    (sent / secs).toFixed(0)
  } updates/s (8 in flight, 5 s); ` +
    `watch streams ended (lost update or error): ${
      watchers.filter((w) => w.ended).length
    }`,
);
const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
console.log(
  metrics.split("\n").filter((l) =>
    /^edgespan_discovery_(memory|watchers|affiliates)/.test(l)
  ).join("\n"),
);
console.log(
  `server RSS now ${end.rss.toFixed(0)} MB, peak (VmHWM) ${
    end.hwm.toFixed(0)
  } MB`,
);

raw.close();
for (const s of servers) Deno.kill(s.pid, "SIGKILL");
await etcd?.stop();
Deno.exit(0);
