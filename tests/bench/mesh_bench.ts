/**
 * Time to a full mesh from start, for N nodes, against the same mesh
 * configured statically with `wg` and `ip` in the same run.
 *
 *   deno run -A tests/bench/mesh_bench.ts [4,8,16]
 *
 * edgespan: agents start in network namespaces with the embedded discovery
 * service; the clock stops when every agent reports every peer `up`.
 * Reference: keys made up front, one wireguard-go per node configured with
 * `wg set` (all peers, endpoints, keepalive) and `ip`; the clock stops when
 * every node has a handshake with every peer. Prints, never fails on timing.
 */
import { startMeshDemo, waitForMesh } from "../../build/demo/mesh_demo.ts";
import { createSite } from "../../build/demo/topology.ts";
import { ip, netnsUnavailable } from "../../build/demo/netns.ts";
import { runOk } from "../../build/run.ts";

async function staticMesh(n: number): Promise<number> {
  const site = await createSite(n, { prefix: "esb" });
  const daemons: Deno.ChildProcess[] = [];
  try {
    const keys = [];
    for (let i = 0; i < n; i++) {
      const priv = (await runOk("wg", ["genkey"])).trim();
      keys.push({
        priv,
        pub: (await runOk("wg", ["pubkey"], { stdin: priv + "\n" })).trim(),
      });
    }
    const started = performance.now();
    for (const node of site.nodes) {
      daemons.push(
        new Deno.Command("ip", {
          args: ["netns", "exec", node.netns, "wireguard-go", node.wgName],
          env: { WG_PROCESS_FOREGROUND: "1" },
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    }
    for (const node of site.nodes) {
      const sock = `/var/run/wireguard/${node.wgName}.sock`;
      while (!(await Deno.stat(sock).then(() => true, () => false))) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const i = node.index - 1;
      const keyFile = await Deno.makeTempFile();
      await Deno.writeTextFile(keyFile, keys[i]!.priv + "\n");
      const args = [
        "netns",
        "exec",
        node.netns,
        "wg",
        "set",
        node.wgName,
        "private-key",
        keyFile,
        "listen-port",
        "51820",
      ];
      for (const peer of site.nodes) {
        if (peer === node) continue;
        args.push(
          "peer",
          keys[peer.index - 1]!.pub,
          "endpoint",
          `${peer.underlay}:51820`,
          "persistent-keepalive",
          "25",
          "allowed-ips",
          `10.200.${peer.index}.1/32`,
        );
      }
      await runOk("ip", args);
      await Deno.remove(keyFile);
      await ip([
        "-n",
        node.netns,
        "addr",
        "add",
        `10.200.${node.index}.1/16`,
        "dev",
        node.wgName,
      ]);
      await ip(["-n", node.netns, "link", "set", node.wgName, "up"]);
    }
    for (;;) {
      let complete = true;
      for (const node of site.nodes) {
        const out = (await runOk("ip", [
          "netns",
          "exec",
          node.netns,
          "wg",
          "show",
          node.wgName,
          "latest-handshakes",
        ])).trim();
        const times = out.split("\n").map((l) => Number(l.split("\t")[1]));
        if (times.length !== n - 1 || times.some((t) => !(t > 0))) {
          complete = false;
        }
      }
      if (complete) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    for (const d of daemons) {
      try {
        d.kill("SIGTERM");
      } catch { /* gone */ }
      await d.status;
    }
    await site.destroy();
  }
}

async function edgespanMesh(n: number): Promise<number> {
  const started = performance.now();
  const demo = await startMeshDemo({
    nodes: n,
    dir: new URL("../../.cache/bench-mesh", import.meta.url).pathname,
    interval: "1s",
  });
  try {
    await waitForMesh(demo, 180_000);
    return performance.now() - started;
  } finally {
    await demo.stop();
  }
}

if (import.meta.main) {
  const why = await netnsUnavailable();
  if (why) {
    console.log(`mesh_bench skipped: ${why}`);
    Deno.exit(0);
  }
  const sizes = (Deno.args[0] ?? "4,8,16").split(",").map(Number);
  console.log(
    "nodes | edgespan to full mesh | static wg+ip to all handshakes | ratio",
  );
  console.log("---|---|---|---");
  for (const n of sizes) {
    const ours = await edgespanMesh(n);
    const theirs = await staticMesh(n);
    console.log(
      `${n} | ${(ours / 1000).toFixed(2)} s | ${
        (theirs / 1000).toFixed(2)
      } s | ${(ours / theirs).toFixed(2)}`,
    );
  }
}
