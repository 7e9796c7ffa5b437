import { assertEquals } from "../_tools/assert.ts";
import { bundle } from "../../build/build.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

// Static `node:` imports the agent's start still pays for, each with its
// owner; every other one loads Deno's Node compatibility layer at start
// (RSS and start-up time) and must be replaced or imported where needed.
const KNOWN: Record<string, string> = {
  // Sync AES-GCM/ECB of the discovery payloads. WebCrypto was tried: it
  // saved ~15 ms of CPU per start but every call is an async hop to a
  // worker thread, and on 2 busy cores a 16-node mesh converged 0.3-0.5 s
  // later (tests/bench/mesh_bench.ts 16 --join, 4 runs each).
  "node:crypto": "plugins/discovery_service/crypto.ts",
};
// node:dgram (the relay's UDP) is imported on first use by
// plugins/peer_relay/udp.ts: most boxes never open a relay socket.

Deno.test("the shipped bundle imports no node: module at start beyond the known ones, and no require()", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-node-imports-" });
  try {
    await bundle(ROOT, `${ROOT}main.ts`, `${dir}/edgespan.js`);
    const js = await Deno.readTextFile(`${dir}/edgespan.js`);
    const staticImports = [
      ...js.matchAll(/^import\b[^;]*?from\s*"(node:[\w/]+)"/gm),
    ].map((m) => m[1]!);
    const unexpected = [...new Set(staticImports)]
      .filter((s) => !(s in KNOWN)).sort();
    assertEquals(unexpected, [], "static node: imports in the bundle");
    assertEquals(
      js.includes("createRequire"),
      false,
      "the bundle carries CommonJS require() (node:module)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
