/**
 * Runs inside the qemu guest (real kernel WireGuard): two agents from the
 * bundled program (`/repo/edgespan.js`, built by tests/vm/run.sh) in two
 * network namespaces, kernel backend, node 1 hosting the discovery service.
 * Asserts a full mesh, a kernel `wireguard` link, and a ping across it.
 * Relative imports only: the guest has no network and no node_modules.
 */
import { assert, assertEquals } from "../../_tools/assert.ts";
import { runOk } from "../../_tools/netns.ts";

const BUNDLE = "/repo/edgespan.js";
const inGuest = Deno.env.get("EDGESPAN_VM_GUEST") === "1";
const hasBundle = await Deno.stat(BUNDLE).then(() => true, () => false);
const skip = !inGuest
  ? "runs only inside the VM (tests/vm/run.sh)"
  : !hasBundle
  ? `${BUNDLE} is missing (tests/vm/run.sh builds it)`
  : undefined;
if (skip) console.log(`kernel mesh: skipped: ${skip}`);

const SECRET = btoa(
  String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))),
);

function config(i: number): string {
  return `cluster: {id: vm-mesh, secret: "${SECRET}"}
discovery:
  endpoints: ["http://10.98.0.1:3000/"]${
    i === 1 ? "\n  serve: {listen: 10.98.0.1:3000}" : ""
  }
kubespan: {filters: {endpoints: ["10.98.0.0/24"]}}
node: {stateDir: /tmp/km/n${i}, hostname: vm-${i}}
wireguard: {backend: kernel, interface: kubespan}
advertise: {networks: ["10.97.${i}.0/24"]}
api: {listen: 127.0.0.1:7443, socket: /tmp/km/n${i}.sock}
reconcile: {interval: 1s}
log: {format: logfmt, level: info}
`;
}

async function statuses(
  i: number,
): Promise<{ state: string; endpoint: string }[]> {
  const client = Deno.createHttpClient({
    proxy: { transport: "unix", path: `/tmp/km/n${i}.sock` },
  });
  try {
    const res = await fetch("http://localhost/v1/peerstatuses", { client });
    return ((await res.json()) as {
      items: { spec: { state: string; endpoint: string } }[];
    }).items.map((r) => r.spec);
  } finally {
    client.close();
  }
}

Deno.test({
  name: "kernel backend: two agents form a mesh over kernel WireGuard",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const agents: Deno.ChildProcess[] = [];
    const logs: string[] = [];
    try {
      // The guest kernel has no bridge module: the two nodes share one veth pair.
      await runOk("ip", ["netns", "add", "km1"]);
      await runOk("ip", ["netns", "add", "km2"]);
      await runOk("ip", [
        "link",
        "add",
        "wan0",
        "netns",
        "km1",
        "type",
        "veth",
        "peer",
        "name",
        "wan0",
        "netns",
        "km2",
      ]);
      await Deno.mkdir("/tmp/km", { recursive: true });
      for (const i of [1, 2]) {
        const ns = `km${i}`;
        await runOk("ip", ["-n", ns, "link", "set", "lo", "up"]);
        await runOk("ip", [
          "-n",
          ns,
          "addr",
          "add",
          `10.98.0.${i}/24`,
          "dev",
          "wan0",
        ]);
        await runOk("ip", ["-n", ns, "link", "set", "wan0", "up"]);
        await Deno.writeTextFile(`/tmp/km/n${i}.yaml`, config(i));
        const log = `/tmp/km/n${i}.log`;
        logs.push(log);
        const child = new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            ns,
            Deno.execPath(),
            "run",
            "-A",
            "--no-config",
            "--no-lock",
            BUNDLE,
            "run",
            "--config",
            `/tmp/km/n${i}.yaml`,
            "--cleanup",
          ],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        child.stdout.pipeTo(
          (await Deno.open(log, { write: true, create: true, append: true }))
            .writable,
        ).catch(() => {});
        child.stderr.pipeTo(
          (await Deno.open(log, { write: true, append: true })).writable,
        ).catch(() => {});
        agents.push(child);
      }
      const started = performance.now();
      let up = 0;
      while (performance.now() - started < 150_000) {
        up = 0;
        for (const i of [1, 2]) {
          try {
            up += (await statuses(i)).filter((s) => s.state === "up").length;
          } catch { /* API not up yet */ }
        }
        if (up === 2) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const tails = await Promise.all(
        logs.map((l) => Deno.readTextFile(l).catch(() => "")),
      );
      assertEquals(
        up,
        2,
        `both peers up; logs:\n${
          tails.map((t) => t.split("\n").slice(-8).join("\n")).join("\n---\n")
        }`,
      );
      console.log(
        `kernel mesh converged in ${
          ((performance.now() - started) / 1000).toFixed(1)
        }s`,
      );
      const link = JSON.parse(
        await runOk("ip", [
          "-n",
          "km1",
          "-j",
          "-d",
          "link",
          "show",
          "kubespan",
        ]),
      )[0];
      assertEquals(
        link.linkinfo?.info_kind,
        "wireguard",
        "the kernel backend made a wireguard link",
      );
      const dump = await runOk("ip", [
        "netns",
        "exec",
        "km1",
        "wg",
        "show",
        "kubespan",
        "dump",
      ]);
      const peers = dump.trim().split("\n").slice(1);
      assertEquals(peers.length, 1);
      assert(Number(peers[0]!.split("\t")[4]) > 0, "wg shows a handshake");
      const addr = JSON.parse(
        await runOk("ip", [
          "-n",
          "km2",
          "-6",
          "-j",
          "addr",
          "show",
          "kubespan",
        ]),
      )[0]
        .addr_info.find((a: { scope: string }) => a.scope === "global")
        .local as string;
      await runOk("ip", [
        "netns",
        "exec",
        "km1",
        "ping",
        "-c",
        "1",
        "-W",
        "5",
        addr,
      ]);
    } finally {
      for (const a of agents) {
        try {
          a.kill("SIGTERM");
        } catch { /* gone */ }
      }
      for (const a of agents) await a.status;
      for (const ns of ["km1", "km2"]) {
        await runOk("ip", ["netns", "del", ns]).catch(() => {});
      }
    }
  },
});
