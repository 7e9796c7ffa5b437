/**
 * An operator's first hour on a real 3-node demo (#15): `edgespan status`
 * through the config's unix socket, the dashboard in headless Chromium
 * (screenshots at 1280×900 with all peers up and with one partitioned),
 * the agent log written while the agent runs with a warning when a peer
 * goes down and a line when it is back, and a discovery outage that makes
 * `status` exit 1 and is logged as lost and regained.
 *
 * About 90 s: a partition is noticed after endpoint-search's silentAfter
 * (30 s here, it must exceed the 25 s keepalive) plus downAfter (10 s).
 */
import { runCli } from "../../web/cli/main.ts";
import { apiResourceClient } from "../../web/client.ts";
import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import { nftScript } from "../../build/demo/netns.ts";
import type { MeshDemo } from "../../build/demo/mesh_demo.ts";
import { haveChromium, launch } from "../web/_cdp.ts";
import { meshTest, withMesh } from "./_harness.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../_tools/assert.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const SHOTS = `${ROOT}.cache`;

async function status(demo: MeshDemo, index: number, json = false) {
  let out = "";
  let err = "";
  const code = await runCli(
    [
      "status",
      "--config",
      `${demo.agents[index]!.dir}/config.yaml`,
      ...(json ? ["-o", "json"] : []),
    ],
    {
      version: "test",
      plugins: BUILTIN_PLUGINS,
      resources: apiResourceClient,
      out: (t) => void (out += t),
      err: (t) => void (err += t),
    },
  );
  return { code, out, err };
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

/** A loopback TCP front for an agent's unix-socket API (Chromium speaks TCP). */
function socketProxy(socket: string): { url: string; close(): Promise<void> } {
  const client = Deno.createHttpClient({
    proxy: { transport: "unix", path: socket },
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const u = new URL(req.url);
      const res = await fetch(`http://localhost${u.pathname}${u.search}`, {
        client,
        signal: req.signal,
      });
      return new Response(res.body, {
        status: res.status,
        headers: res.headers,
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      await server.shutdown().catch(() => {});
      client.close();
    },
  };
}

const PEER_ROWS =
  `[...document.querySelectorAll("#peers tbody tr")].map((tr) => [tr.cells[0].textContent, tr.dataset.state, tr.querySelector('[data-col="reason"]').textContent])`;

/** Drops WireGuard's UDP in and out of a node: a partition of the mesh only (discovery is TCP). */
function partition(netns: string, on: boolean): Promise<string> {
  return nftScript(
    netns,
    on
      ? [
        "add table inet es_partition",
        "add chain inet es_partition in { type filter hook input priority -10; policy accept; }",
        "add chain inet es_partition out { type filter hook output priority -10; policy accept; }",
        "add rule inet es_partition in udp dport 51820 drop",
        "add rule inet es_partition in udp sport 51820 drop",
        "add rule inet es_partition out udp dport 51820 drop",
        "add rule inet es_partition out udp sport 51820 drop",
      ]
      : ["delete table inet es_partition"],
  );
}

meshTest(
  "operator: status, dashboard, logs and exit codes on a 3-node demo with a partition and a discovery outage",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "edgespan-operator-" });
    await Deno.mkdir(SHOTS, { recursive: true });
    try {
      await withMesh({
        nodes: 3,
        dir,
        convergeMs: 90_000,
        pluginOptions: {
          "endpoint-search": { silentAfter: "30s", downAfter: "10s" },
        },
      }, async (demo) => {
        const n1 = demo.agents[0]!;
        const n3 = demo.agents[2]!;
        // 1. All up: status through the config's api.socket, exit 0.
        const up = await until(
          "edge-1 to report 2/2 peers up",
          30_000,
          async () => {
            const s = await status(demo, 0);
            return s.out.includes("Peers: 2/2 up") ? s : undefined;
          },
        );
        assertEquals(up.code, 0, up.err);
        assertMatch(up.out, /^edgespan \S+ on edge-1: ready$/m);
        assertMatch(up.out, /discovery-service\s+connected\s+\d{4}-\d\d-\d\dT/);
        assertMatch(up.out, /^ {2}edge-2\s+up\s+\d+s\s+10\.99\.0\.\d+:51820/m);
        await Deno.writeTextFile(`${SHOTS}/status-up.txt`, up.out);
        // The log is on disk while the agent runs.
        const log1 = await Deno.readTextFile(n1.log);
        assertStringIncludes(log1, 'msg="peer up"');
        const proxy = socketProxy(n1.socket);
        const browser = haveChromium()
          ? await launch(`${proxy.url}/`, { width: 1280, height: 900 })
          : undefined;
        if (!browser) {
          console.log("dashboard steps skipped: no /usr/bin/chromium");
        }
        try {
          if (browser) {
            await browser.waitFor(
              `document.getElementById("count")?.textContent === "2/2peers up"`,
            );
            const rows = await browser.evaluate<string[][]>(PEER_ROWS);
            assertEquals(rows.map((r) => r.slice(0, 2)), [["edge-2", "up"], [
              "edge-3",
              "up",
            ]]);
            assertEquals(
              await browser.evaluate<string>(
                `document.getElementById("host").textContent`,
              ),
              "edge-1",
            );
            const nets = await browser.evaluate<string>(
              `document.getElementById("mesh").textContent`,
            );
            assertStringIncludes(nets, demo.site.nodes[1]!.lan);
            await Deno.writeFile(
              `${SHOTS}/dashboard-demo-up.png`,
              await browser.screenshot(),
            );
          }
          // 2. Partition edge-3: down with a reason, a warning in the log.
          await partition(n3.node.netns, true);
          const cut = await until(
            "edge-1 to see edge-3 down",
            75_000,
            async () => {
              const s = await status(demo, 0);
              return /^ {2}edge-3\s+down\s/m.test(s.out) ? s : undefined;
            },
          );
          assertEquals(
            cut.code,
            0,
            "a down peer does not make the node unready",
          );
          assertStringIncludes(cut.out, "Peers: 1/2 up");
          assertMatch(
            cut.out,
            /^ {2}edge-3\s+down\s.*no handshake on any of 1 endpoint since /m,
          );
          await Deno.writeTextFile(`${SHOTS}/status-partitioned.txt`, cut.out);
          const json = JSON.parse((await status(demo, 0, true)).out);
          const e3 = json.items.find((i: { spec: { label: string } }) =>
            i.spec.label === "edge-3"
          );
          assertEquals(e3.spec.state, "down");
          assert(
            Date.parse(e3.spec.stateSince) > Date.now() - 60_000,
            e3.spec.stateSince,
          );
          const lines1 = (await Deno.readTextFile(n1.log)).split("\n")
            .filter((l) => l.includes("label=edge-3"));
          const left = lines1.find((l) =>
            l.includes("level=warn") && l.includes("wasUpFor=")
          );
          assert(
            left,
            `a warning with how long edge-3 was up:\n${lines1.join("\n")}`,
          );
          assertMatch(
            left,
            /msg="peer (down|no longer up)" .*wasUpFor=\d+(m\d*s?|s)/,
          );
          const downLine = lines1.find((l) => l.includes('msg="peer down"'));
          assert(
            downLine,
            `a "peer down" line for edge-3:\n${lines1.join("\n")}`,
          );
          assertMatch(
            downLine,
            /level=warn .*reason="no handshake on any of 1 endpoint since /,
          );
          if (browser) {
            await browser.waitFor(
              `document.querySelector('#peers tbody tr:nth-child(2)')?.dataset.state === "down" && document.getElementById("count")?.textContent === "1/2peers up"`,
              20_000,
            );
            const rows = await browser.evaluate<string[][]>(PEER_ROWS);
            assertEquals(rows[1]!.slice(0, 2), ["edge-3", "down"]);
            assertStringIncludes(
              rows[1]![2]!,
              "no handshake on any of 1 endpoint",
            );
            await Deno.writeFile(
              `${SHOTS}/dashboard-demo-partitioned.png`,
              await browser.screenshot(),
            );
          }
          // 3. Heal: up again, and the log says how long it was down.
          await partition(n3.node.netns, false);
          await until("edge-1 to see edge-3 up again", 45_000, async () => {
            const s = await status(demo, 0);
            return s.out.includes("Peers: 2/2 up") ? s : undefined;
          });
          const back = await until(
            "a peer up line with wasDownFor",
            5_000,
            async () =>
              (await Deno.readTextFile(n1.log)).split("\n").find((l) =>
                l.includes('msg="peer up"') && l.includes("label=edge-3") &&
                l.includes("wasDownFor=")
              ),
          );
          assertMatch(back, /level=info /);
        } finally {
          await browser?.close();
          await proxy.close();
        }
        // 4. Discovery outage: edge-1 (which serves discovery) stops; edge-2
        // is not ready (status exits 1) and logs the loss, then the return.
        n1.process.kill("SIGTERM");
        await n1.process.status;
        const down = await until("edge-2 to be not ready", 20_000, async () => {
          const s = await status(demo, 1);
          return s.code === 1 ? s : undefined;
        });
        assertMatch(down.out, /^edgespan \S+ on edge-2: NOT READY$/m);
        await Deno.writeTextFile(`${SHOTS}/status-not-ready.txt`, down.out);
        assertMatch(down.out, /^ {2}discovery: discovery-service: connecting/m);
        const n2log = demo.agents[1]!.log;
        await until(
          "a discovery lost warning",
          10_000,
          async () =>
            (await Deno.readTextFile(n2log)).includes(
                'level=warn msg="discovery connection lost"',
              )
              ? true
              : undefined,
        );
        await demo.restart(0, true);
        await until(
          "a discovery regained line",
          60_000,
          async () =>
            (await Deno.readTextFile(n2log)).includes(
                'msg="discovery connection regained"',
              )
              ? true
              : undefined,
        );
        assertEquals((await status(demo, 1)).code, 0);
        // What the README's "Operating" section quotes.
        const pick = (text: string, re: RegExp) =>
          text.split("\n").filter((l) => re.test(l)).join("\n");
        await Deno.writeTextFile(
          `${SHOTS}/operator-logs.txt`,
          pick(
            await Deno.readTextFile(n1.log),
            /label=edge-3 .*msg=|msg="peer (up|down|no longer up)".*label=edge-3/,
          ) + "\n---\n" +
            pick(await Deno.readTextFile(n2log), /msg="discovery connection/) +
            "\n",
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
