/**
 * The README's main command: a local multi-node mesh. It builds a site of
 * network namespaces, starts one agent per node (node 1 also hosts the
 * embedded discovery service), waits until every peer is up, prints each
 * node's peer-status table and a ping across the mesh, shows how to curl the
 * local API, and tears everything down on Ctrl-C.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { renderStarterConfig } from "../../core/config/starter.ts";
import { renderResources } from "../../web/cli/output.ts";
import { RESOURCE_DEFINITIONS } from "../../core/resources/definitions.ts";
import type { Resource } from "../../core/resources/store.ts";
import type { PeerStatusSpec } from "../../core/resources/specs.ts";
import { createSite, type Site, type SiteNode } from "./topology.ts";
import { netnsUnavailable } from "./netns.ts";
import { run } from "../run.ts";
import { ensureDebianPackages } from "./packages.ts";
import { runSingleNodeDemo } from "./single_node.ts";
import { V8_FLAGS } from "../../core/runtime_flags.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** One running agent of the demo. */
export interface DemoAgent {
  node: SiteNode;
  dir: string;
  socket: string;
  process: Deno.ChildProcess;
  log: string;
  /** Wall-clock ms at which the process was spawned. */
  spawnedAt: number;
}

/** Options for {@linkcode startMeshDemo}. */
export interface MeshDemoOptions {
  nodes: number;
  /** Where configs, state and logs go. */
  dir: string;
  /** Reconcile tick. @default "2s" */
  interval?: string;
  /** Extra environment for the agents (e.g. shortened test timers). */
  env?: Record<string, string>;
  /** Allow traffic to down peers in clear. @default false */
  allowDownPeerBypass?: boolean;
  /** Report the endpoints peers were reached at to discovery. @default false */
  harvestExtraEndpoints?: boolean;
  /** Agents remove the mesh when they stop. @default true */
  cleanupOnExit?: boolean;
  /** `kubespan.filters.endpoints` per node. @default the underlay /24 only */
  endpointFilters?: (node: SiteNode) => string[];
  /** Print progress. @default nothing */
  progress?: (line: string) => void;
  /** Plugins switched on or off by name (`plugins:`). @default the built-in defaults */
  plugins?: Record<string, boolean>;
  /** Options of plugins by name (beside `enabled` in `plugins.<name>`). @default none */
  pluginOptions?: Record<string, Record<string, unknown>>;
  /**
   * The agent's command line before `run --config ...` (e.g. `deno run` of
   * the bundled single file). @default `deno run -A` of main.ts
   */
  command?: string[];
  /**
   * `hold` more nodes (after the `nodes` started at once) get a namespace, config and state directory but no
   * agent until {@linkcode MeshDemo.join} starts them (boxes that have
   * never been seen by the mesh). @default 0
   */
  hold?: number;
}

/** A running demo site. */
export interface MeshDemo {
  site: Site;
  agents: DemoAgent[];
  stop(): Promise<void>;
  /**
   * Stops agent `index` (0-based) with SIGTERM and starts it again on the
   * same config and state. The new process runs with `--cleanup` only if
   * `cleanup` is set; the old one always leaves the mesh in place.
   */
  restart(index: number, cleanup: boolean): Promise<void>;
  /**
   * Starts the next held-back node (see {@linkcode MeshDemoOptions.hold})
   * and appends it to `agents`; throws when none is left.
   */
  join(): DemoAgent;
}

function nodeConfig(
  base: { id: string; secret: string },
  node: SiteNode,
  dir: string,
  options: MeshDemoOptions,
): string {
  const discovery = `http://10.99.0.1:3000/`;
  const serve = node.index === 1
    ? `\n  serve:\n    listen: 10.99.0.1:3000`
    : "";
  return `cluster:
  id: ${base.id}
  secret: ${base.secret}
discovery:
  endpoints: ["${discovery}"]${serve}
kubespan:
  enabled: true
  allowDownPeerBypass: ${options.allowDownPeerBypass ?? false}
  harvestExtraEndpoints: ${options.harvestExtraEndpoints ?? false}
  filters:
    endpoints: ${
    JSON.stringify(options.endpointFilters?.(node) ?? ["10.99.0.0/24"])
  }
node:
  stateDir: ${dir}/state
  hostname: edge-${node.index}
wireguard:
  backend: auto
  interface: ${node.wgName}
advertise:
  networks: ["${node.lan}"]
api:
  listen: 127.0.0.1:7443
  socket: ${dir}/api.sock
reconcile:
  interval: ${options.interval ?? "2s"}
log:
  format: logfmt
  level: info
${pluginsYaml(options.plugins, options.pluginOptions)}`;
}

function pluginsYaml(
  plugins: Record<string, boolean> = {},
  pluginOptions: Record<string, Record<string, unknown>> = {},
): string {
  const names = [
    ...new Set([...Object.keys(plugins), ...Object.keys(pluginOptions)]),
  ];
  if (names.length === 0) return "";
  return `plugins:\n${
    names.map((name) => {
      const opts = pluginOptions[name];
      if (!opts) return `  ${name}: ${plugins[name]}\n`;
      // A plugin's options sit beside `enabled` in its entry.
      const fields = Object.entries(opts).map(([k, v]) =>
        `, ${k}: ${JSON.stringify(v)}`
      ).join("");
      return `  ${name}: {enabled: ${plugins[name] ?? true}${fields}}\n`;
    }).join("")
  }`;
}

/** Reads a resource list from an agent's unix-socket API. */
export async function apiList<S>(
  socket: string,
  type: string,
): Promise<Resource<S>[]> {
  const client = Deno.createHttpClient({
    proxy: { transport: "unix", path: socket },
  });
  try {
    const res = await fetch(`http://localhost/v1/${type}`, { client });
    if (!res.ok) throw new Error(`GET /v1/${type}: HTTP ${res.status}`);
    const body = await res.json() as { items: Resource<S>[] };
    return body.items;
  } finally {
    client.close();
  }
}

/** Builds the site and starts the agents. */
export async function startMeshDemo(
  options: MeshDemoOptions,
): Promise<MeshDemo> {
  const say = options.progress ?? (() => {});
  const site = await createSite(options.nodes + (options.hold ?? 0));
  say(
    `site ${site.suffix}: ${options.nodes} nodes in network namespaces ${
      site.nodes.map((n) => n.netns).join(", ")
    }`,
  );
  const starter = renderStarterConfig();
  const base = {
    id: /^\s*id: (\S+)/m.exec(starter)![1]!,
    secret: /^\s*secret: (\S+)/m.exec(starter)![1]!,
  };
  const agents: DemoAgent[] = [];
  const stop = async () => {
    for (const a of agents) {
      try {
        a.process.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    await Promise.all(agents.map(async (a) => {
      const timer = setTimeout(() => {
        try {
          a.process.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await a.process.status;
      clearTimeout(timer);
    }));
    await site.destroy();
  };
  const spawn = (node: SiteNode, dir: string, cleanup: boolean) => {
    const log = `${dir}/agent.log`;
    const spawnedAt = Date.now();
    // The shell points the agent's stdout and stderr at the file itself, so
    // every line is on disk as it is written (`tail -f` works while it runs).
    const process = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        node.netns,
        "sh",
        "-c",
        'log="$1"; shift; exec "$@" >>"$log" 2>&1',
        "sh",
        log,
        ...(options.command ?? [
          Deno.execPath(),
          "run",
          "-A",
          `--v8-flags=${V8_FLAGS}`,
          `${ROOT}main.ts`,
        ]),
        "run",
        "--config",
        `${dir}/config.yaml`,
        ...(cleanup ? ["--cleanup"] : []),
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      env: { NO_COLOR: "1", ...options.env },
    }).spawn();
    return { node, dir, socket: `${dir}/api.sock`, process, log, spawnedAt };
  };
  const restart = async (index: number, cleanup: boolean) => {
    const old = agents[index]!;
    try {
      old.process.kill("SIGTERM");
    } catch { /* already stopped (a test stopped it to cut it off) */ }
    await old.process.status;
    agents[index] = spawn(old.node, old.dir, cleanup);
  };
  const held: { node: SiteNode; dir: string }[] = [];
  const join = () => {
    const next = held.shift();
    if (!next) throw new Error("no held-back node is left to join");
    const agent = spawn(next.node, next.dir, options.cleanupOnExit ?? true);
    agents.push(agent);
    return agent;
  };
  try {
    const started = options.nodes;
    for (const node of site.nodes) {
      const dir = `${options.dir}/${site.suffix}/n${node.index}`;
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/config.yaml`,
        nodeConfig(base, node, dir, options),
      );
      if (node.index <= started) {
        agents.push(spawn(node, dir, options.cleanupOnExit ?? true));
      } else held.push({ node, dir });
    }
    return { site, agents, stop, restart, join };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Polls until every agent sees every other peer `up`; returns the elapsed ms. */
export async function waitForMesh(
  demo: MeshDemo,
  timeoutMs: number,
  progress: (up: number, total: number) => void = () => {},
): Promise<number> {
  const started = performance.now();
  const total = demo.agents.length * (demo.agents.length - 1);
  let last = -1;
  while (performance.now() - started < timeoutMs) {
    let up = 0;
    for (const a of demo.agents) {
      try {
        up += (await apiList<PeerStatusSpec>(a.socket, "peerstatuses")).filter((
          r,
        ) => r.spec.state === "up").length;
      } catch { /* not listening yet */ }
    }
    if (up !== last) progress(up, total);
    last = up;
    if (up === total) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `the mesh did not converge within ${
      timeoutMs / 1000
    }s (${last}/${total} links up); see the agent logs`,
  );
}

/** Runs `busybox ping` from one node to an address; returns the summary line. */
export async function ping(
  node: SiteNode,
  address: string,
  count = 3,
): Promise<{ ok: boolean; text: string }> {
  const out = await run("ip", [
    "netns",
    "exec",
    node.netns,
    "busybox",
    "ping",
    "-c",
    String(count),
    "-W",
    "2",
    address,
  ]);
  const text = out.stdout.trim().split("\n");
  return {
    ok: out.code === 0,
    text: `${text.at(-2) ?? ""} ${text.at(-1) ?? ""}`.trim(),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      nodes: { type: "string", short: "n" },
      seconds: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(`Usage: deno task demo [--nodes N] [--seconds S]

Starts N (default 3) agents in network namespaces with the embedded discovery
service, waits for a full mesh, prints each node's peer statuses and a ping
across it, then keeps running until Ctrl-C (or S seconds) and cleans up.`);
    return 0;
  }
  const nodes = Number(values.nodes ?? "3");
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > 32) {
    console.error(
      `--nodes must be a whole number from 2 to 32, got "${values.nodes}"`,
    );
    return 2;
  }
  const why = await netnsUnavailable();
  if (why) {
    console.error(
      `The mesh demo ${why}; showing a single agent without kernel changes instead.`,
    );
    console.error(
      "Run it as root (e.g. sudo npx deno task demo) for the multi-node mesh.\n",
    );
    await runSingleNodeDemo({
      seconds: values.seconds,
      dir: `${ROOT}.cache/demo/single`,
    });
    return 0;
  }
  await ensureDebianPackages([
    "iproute2",
    "wireguard-go",
    "wireguard-tools",
    "busybox-static",
    "nftables",
  ], (l) => console.log(l));
  const demo = await startMeshDemo({
    nodes,
    dir: `${ROOT}.cache/demo`,
    progress: (l) => console.log(l),
  });
  let stopping = false;
  const cleanUp = async () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping agents and removing the namespaces ...");
    await demo.stop();
    console.log("done: nothing is left behind");
  };
  Deno.addSignalListener(
    "SIGINT",
    () => void cleanUp().then(() => Deno.exit(0)),
  );
  Deno.addSignalListener(
    "SIGTERM",
    () => void cleanUp().then(() => Deno.exit(0)),
  );
  try {
    const ms = await waitForMesh(
      demo,
      90_000,
      (up, total) =>
        console.log(`waiting for the mesh: ${up}/${total} peer links up`),
    );
    console.log(
      `\nfull mesh of ${nodes} nodes in ${(ms / 1000).toFixed(1)}s\n`,
    );
    const def = RESOURCE_DEFINITIONS.find((d) => d.type === "peerstatuses")!;
    for (const a of demo.agents) {
      console.log(`edge-${a.node.index} ($ edgespan get peerstatuses)`);
      console.log(
        renderResources(
          def,
          await apiList(a.socket, "peerstatuses"),
          "table",
          Date.now(),
        ),
      );
    }
    const [first, second] = demo.agents;
    const meshAddress =
      (await apiList<{ address: string }>(second!.socket, "identity"))[0]!.spec
        .address.split("/")[0]!;
    const p1 = await ping(first!.node, meshAddress);
    console.log(
      `ping edge-1 -> edge-2 mesh address ${meshAddress}: ${p1.text}`,
    );
    const p2 = await ping(first!.node, second!.node.lanAddress);
    console.log(
      `ping edge-1 -> edge-2 site LAN ${second!.node.lanAddress}: ${p2.text}`,
    );
    console.log(
      `\nLocal API of edge-1:\n  curl -s --unix-socket ${
        first!.socket
      } http://localhost/v1/peerstatuses`,
    );
    console.log(
      `  ip netns exec ${
        first!.node.netns
      } curl -s 127.0.0.1:7443/v1/peerstatuses`,
    );
    console.log(`Agent logs: ${demo.agents.map((a) => a.log).join(" ")}`);
    if (values.seconds) {
      await new Promise((r) => setTimeout(r, Number(values.seconds) * 1000));
      await cleanUp();
      return p1.ok && p2.ok ? 0 : 1;
    }
    console.log("\nrunning; press Ctrl-C to stop and clean up");
    await new Promise(() => {});
    return 0;
  } catch (e) {
    console.error(`demo failed: ${(e as Error).message}`);
    for (const a of demo.agents) {
      const tail = (await Deno.readTextFile(a.log).catch(() => "")).trim()
        .split("\n").slice(-5).join("\n  ");
      console.error(`edge-${a.node.index} log (last lines):\n  ${tail}`);
    }
    await cleanUp();
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main());
