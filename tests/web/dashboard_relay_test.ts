/**
 * The dashboard marks relayed peers: a PATH badge in the peer table and a
 * dotted purple link with a `via <relay>` line in the mesh picture.
 */
import { serveApi } from "../../web/serve.ts";
import type { PeerStatusSpec } from "../../core/resources/specs.ts";
import { assertEquals } from "../_tools/assert.ts";
import { fakeAgent } from "./_fake_agent.ts";
import { haveChromium, launch } from "./_cdp.ts";

const canRun = haveChromium();
if (!canRun) {
  console.log(
    "dashboard_relay_test: skipped: /usr/bin/chromium is missing (apt-get install chromium)",
  );
}

Deno.test({
  name: "dashboard shows which peers are relayed, in the table and the mesh",
  ignore: !canRun,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const fake = fakeAgent({ peers: 3 });
    const [relayed, direct, plain] = fake.peers as [string, string, string];
    for (const [key, path] of [[relayed, "relay:edge-r"], [direct, "direct"]]) {
      const spec = fake.store.get<PeerStatusSpec>("peerstatuses", key!)!.spec;
      fake.store.set("peerstatuses", key!, { ...spec, state: "up", path });
    }
    const server = await serveApi(fake.deps, { listen: "127.0.0.1:0" });
    const browser = await launch(`${server.url}/`, {
      width: 1280,
      height: 900,
    });
    try {
      await browser.waitFor(
        `document.querySelectorAll("#peers tbody tr").length === 3`,
      );
      const cells = await browser.evaluate<Record<string, string[]>>(
        `Object.fromEntries([...document.querySelectorAll("#peers tbody tr")].map((tr) => {
          const td = tr.querySelector('td[data-col="path"]');
          const badge = td.querySelector(".badge");
          return [tr.dataset.peer, [td.textContent, badge ? badge.className : ""]];
        }))`,
      );
      assertEquals(cells[relayed], ["via edge-r", "badge relayed"]);
      assertEquals(cells[direct], ["direct", "badge direct"]);
      assertEquals(cells[plain], ["", ""]);
      const links = await browser.evaluate<Record<string, string[]>>(
        `Object.fromEntries([...document.querySelectorAll("#mesh line")].map((l) =>
          [l.dataset.peer, [l.getAttribute("class"), l.getAttribute("stroke"), l.getAttribute("stroke-dasharray")]]))`,
      );
      assertEquals(links[relayed], ["link up relayed", "#805ad5", "2 3"]);
      assertEquals(links[direct], ["link up", "#1f9d55", ""]);
      const labels = await browser.evaluate<Record<string, string[]>>(
        `Object.fromEntries([...document.querySelectorAll("#mesh text.label")].map((t) =>
          [t.dataset.peer, [...t.children].map((s) => s.getAttribute("class") + ":" + s.textContent)]))`,
      );
      assertEquals(labels[relayed]!.slice(1, 2), ["via:via edge-r"]);
      assertEquals(
        labels[direct]!.some((l) => l.startsWith("via:")),
        false,
      );
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
