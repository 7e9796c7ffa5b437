import { serveApi } from "../../web/serve.ts";
import type { PeerStatusSpec } from "../../core/resources/specs.ts";
import { assert, assertEquals, assertMatch } from "../_tools/assert.ts";
import { fakeAgent } from "./_fake_agent.ts";
import { haveChromium, launch } from "./_cdp.ts";

const canRun = haveChromium();
if (!canRun) {
  console.log(
    "dashboard_test: skipped: /usr/bin/chromium is missing (apt-get install chromium)",
  );
}

interface Row {
  peer: string;
  state: string;
  cells: Record<string, string>;
}

/** Cells by their data-col name. */
const ROWS = `[...document.querySelectorAll("#peers tbody tr")].map((tr) => ({
  peer: tr.dataset.peer, state: tr.dataset.state,
  cells: Object.fromEntries([...tr.cells].map((c) => [c.dataset.col, c.textContent])) }))`;

Deno.test({
  name:
    "dashboard renders identity, peers and mesh, and follows the SSE stream",
  ignore: !canRun,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const fake = fakeAgent({ peers: 6 });
    fake.deps.hostname = "edge-hq";
    const server = await serveApi(fake.deps, { listen: "127.0.0.1:0" });
    const browser = await launch(`${server.url}/`, {
      width: 1280,
      height: 900,
    });
    try {
      await browser.waitFor(
        `document.querySelectorAll("#peers tbody tr").length === 6`,
      );
      const rows = await browser.evaluate<Row[]>(ROWS);
      const statuses = fake.store.list<PeerStatusSpec>("peerstatuses");
      assertEquals(
        rows.map((r) => [r.peer, r.state]).sort(),
        statuses.map((s) => [s.id, s.spec.state]).sort(),
      );
      const up = rows.find((r) => r.state === "up")!;
      const upSpec = statuses.find((s) => s.id === up.peer)!.spec;
      assertEquals(up.cells.label, upSpec.label);
      assertEquals(up.cells.endpoint, upSpec.endpoint);
      assert(
        /^\d+s$/.test(up.cells.handshake!),
        `handshake age "${up.cells.handshake}"`,
      );
      assert(/KiB|MiB|B$/.test(up.cells.rx!), `rx "${up.cells.rx}"`);
      assertEquals(up.cells.reason, "");
      const never = rows.find((r) => r.state === "unknown")!;
      assertEquals(never.cells.handshake, "never");
      assertEquals(
        never.cells.reason,
        "never had a handshake; endpoint last changed 1h ago",
      );
      const downRow = rows.find((r) => r.state === "down")!;
      assertMatch(
        downRow.cells.reason!,
        /^no handshake for 10m(\ds)?; endpoint last changed 1h ago$/,
      );
      // Header and cards: host, version, readiness, N/M peers up.
      await browser.waitFor(
        `document.getElementById("host").textContent === "edge-hq"`,
      );
      const cards = await browser.evaluate<string[]>(
        `["version", "ready", "count", "discovery"].map((id) => document.getElementById(id).textContent)`,
      );
      assertEquals(cards.slice(0, 3), [
        "edgespan 0.1.0-test",
        "ready",
        `${statuses.filter((p) => p.spec.state === "up").length}/6peers up`,
      ]);
      // Plugins and their state.
      const plugins = await browser.evaluate<string[][]>(
        `[...document.querySelectorAll("#plugins tbody tr")].map((tr) => [tr.dataset.plugin, tr.dataset.state])`,
      );
      assertEquals(plugins.length, fake.store.list("plugins").length);
      // The mesh picture names each peer with its advertised network.
      const labels = await browser.evaluate<string[]>(
        `[...document.querySelectorAll("#mesh text.label")].map((t) => [...t.children].map((s) => s.textContent).join(" "))`,
      );
      assert(labels.includes("edge-01 10.1.0.0/24"), labels.join("|"));
      // State colours: the badge of an up peer is green, a down one red.
      const colors = await browser.evaluate<Record<string, string>>(
        `Object.fromEntries(["up","down","unknown"].map((s) => [s,
          getComputedStyle(document.querySelector("tr[data-state=" + s + "] .badge")).backgroundColor]))`,
      );
      assertEquals(colors.up, "rgb(31, 157, 85)");
      assertEquals(colors.down, "rgb(214, 69, 69)");
      // Identity: public parts only.
      const identity = await browser.evaluate<string>(
        `document.getElementById("identity").textContent`,
      );
      const pub = (fake.store.get("identity", "local")!.spec as {
        publicKey: string;
      }).publicKey;
      assert(identity.includes(pub), "public key shown");
      assert(!identity.includes(fake.secrets.privateKey), "private key shown");
      // Mesh picture: one link per peer, coloured by state.
      const links = await browser.evaluate<string[][]>(
        `[...document.querySelectorAll("#mesh line")].map((l) => [l.dataset.peer, l.getAttribute("stroke")])`,
      );
      assertEquals(links.length, 6);
      const downKey = rows.find((r) => r.state === "down")!.peer;
      assertEquals(links.find((l) => l[0] === downKey)![1], "#d64545");
      // Live: a change in the store reaches the page through /v1/watch.
      await browser.waitFor(
        `document.getElementById("live").textContent === "live"`,
      );
      const spec =
        fake.store.get<PeerStatusSpec>("peerstatuses", downKey)!.spec;
      fake.store.set("peerstatuses", downKey, {
        ...spec,
        state: "up",
        label: "edge-recovered",
        receiveBytes: 5 * 1024 * 1024,
      });
      await browser.waitFor(
        `document.querySelector('tr[data-peer="${downKey}"]')?.dataset.state === "up"`,
      );
      const row = (await browser.evaluate<Row[]>(ROWS)).find((r) =>
        r.peer === downKey
      )!;
      assertEquals(row.cells.label, "edge-recovered");
      assertEquals(row.cells.rx, "5.0 MiB");
      const png = await browser.screenshot();
      assertEquals([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
      await Deno.mkdir(".cache", { recursive: true });
      await Deno.writeFile(".cache/dashboard.png", png);
      console.log(`screenshot: .cache/dashboard.png (${png.length} bytes)`);
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
