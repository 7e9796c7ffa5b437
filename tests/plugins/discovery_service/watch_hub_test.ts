import { assertEquals } from "../../_tools/assert.ts";
import { WatchHub } from "../../../plugins/discovery_service/server/watch_hub.ts";
import { rawClient, startServer, waitFor } from "./_harness.ts";

Deno.test("watch hub: a forgotten cluster never reuses a generation (snapshot caches key on it)", () => {
  const hub = new WatchHub();
  hub.notify("c", { kind: "delete", id: "a" });
  const first = hub.generation("c");
  hub.forget("c");
  hub.notify("c", { kind: "delete", id: "b" });
  assertEquals(hub.generation("c") > first, true);
});

Deno.test("Watch after a cluster was collected and refilled sends the new affiliates, not a cached snapshot of the old ones", async () => {
  let t = 1_000_000;
  const srv = await startServer({ now: () => t, gcIntervalMs: 3_600_000 });
  try {
    const first = async () => {
      const ac = new AbortController();
      for await (
        const msg of rawClient(srv.port).watch({ clusterId: "c" }, {
          signal: ac.signal,
        })
      ) {
        ac.abort();
        return msg.affiliates.map((a) => a.id);
      }
      return [];
    };
    srv.state.update("c", "old", new Uint8Array([1]), [], 1_000);
    assertEquals(await first(), ["old"]);
    await waitFor(() => srv.state.stats().watchers === 0, 5_000, "watch end");
    t += 2_000;
    srv.gc(); // "old" expires; the empty, unwatched cluster is dropped
    assertEquals(srv.state.stats().clusters, 0);
    srv.state.update("c", "new", new Uint8Array([2]), [], 60_000);
    assertEquals(await first(), ["new"]);
  } finally {
    await srv.close();
  }
});
