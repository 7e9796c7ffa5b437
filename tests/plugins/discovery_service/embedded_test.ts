import { testPluginContext } from "../../_tools/plugin_context.ts";
import { discoveryServerPlugin } from "../../../plugins/discovery_service/embedded.ts";
import { validateConfig } from "../../../core/config/validate.ts";
import type { EdgespanConfig } from "../../../core/config/types.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

function config(port?: number): EdgespanConfig {
  const r = validateConfig({
    cluster: {
      id: "x",
      secret: "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=",
    },
    ...(port ? { discovery: { serve: { listen: `127.0.0.1:${port}` } } } : {}),
  });
  assert(r.ok, JSON.stringify(r));
  return r.config;
}

async function listening(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.close();
    return true;
  } catch {
    return false;
  }
}

/** Waits (at most 5 s) until the port is in the wanted state. */
async function waitListening(port: number, want: boolean): Promise<void> {
  const until = Date.now() + 5000;
  while (await listening(port) !== want) {
    if (Date.now() > until) {
      throw new Error(`port ${port} never became ${want ? "open" : "closed"}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("discovery-server serves per discovery.serve, moves on reload and stops with the plugin", async () => {
  const [a, b] = [freePort(), freePort()];
  const abort = new AbortController();
  const ctx = testPluginContext({
    pluginName: "discovery-server",
    config: config(a),
    signal: abort.signal,
  });
  const plugin = discoveryServerPlugin.create(ctx, {});
  await plugin.start?.();
  try {
    await waitListening(a, true);
    assertEquals(plugin.tunnelBypass.replyPorts(), [a]);
    await plugin.reload?.({}, config(b));
    await waitListening(b, true);
    assertEquals(await listening(a), false, "the old listener is closed");
    assertEquals(plugin.tunnelBypass.replyPorts(), [b]);
    await plugin.reload?.({}, config());
    assertEquals(await listening(b), false, "no discovery.serve: no service");
    assertEquals(plugin.tunnelBypass.replyPorts(), []);
    await plugin.reload?.({}, config(a));
    await waitListening(a, true);
  } finally {
    await plugin.stop?.();
    abort.abort();
  }
  assertEquals(
    await listening(a),
    false,
    "stopping the plugin stops the service",
  );
});
