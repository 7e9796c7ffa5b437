import { assertEquals } from "../../_tools/assert.ts";
import {
  CACHE_FILE,
  readCache,
  writeCache,
} from "../../../plugins/discovery_service/cache.ts";
import { affiliate } from "./_affiliates.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-cache-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readCache() drops a damaged entry alone and keeps the others", async () => {
  await withDir(async (dir) => {
    const good = affiliate(1);
    const cp = { ...affiliate(2), controlPlane: { apiServerPort: 6443 } };
    const noEndpoints = affiliate(3) as unknown as Record<string, unknown>;
    delete (noEndpoints.kubespan as Record<string, unknown>).endpoints;
    const badKey = affiliate(4) as unknown as Record<string, unknown>;
    (badKey.kubespan as Record<string, unknown>).publicKey = 7;
    const badPort = { ...affiliate(5), controlPlane: { apiServerPort: "x" } };
    const noHostname = affiliate(6) as unknown as Record<string, unknown>;
    delete noHostname.hostname;
    await Deno.writeTextFile(
      `${dir}/${CACHE_FILE}`,
      JSON.stringify({
        version: 1,
        savedAt: 0,
        affiliates: [
          good,
          noEndpoints,
          cp,
          badKey,
          badPort,
          noHostname,
          null,
          "x",
        ],
      }),
    );
    assertEquals(await readCache(dir), [good, cp]);
  });
});

Deno.test("writeCache() / readCache() keep control-plane data", async () => {
  await withDir(async (dir) => {
    const cp = { ...affiliate(2), controlPlane: { apiServerPort: 443 } };
    await writeCache(dir, [cp], 1);
    assertEquals(await readCache(dir), [cp]);
  });
});

Deno.test("peer cache: keeps a peer's advertised list, never its observations (stale after a restart); a damaged extension is dropped alone", async () => {
  await withDir(async (dir) => {
    const withExt = {
      ...affiliate(1),
      edgespan: {
        advertised: ["192.168.0.1:51820"],
        observed: [{ affiliateID: "node-2", endpoint: "198.51.100.11:1024" }],
      },
    };
    const badExt = { ...affiliate(2), edgespan: { advertised: 5 } };
    await writeCache(dir, [withExt], 0);
    assertEquals(await readCache(dir), [{
      ...affiliate(1),
      edgespan: { advertised: ["192.168.0.1:51820"], observed: [] },
    }]);
    await Deno.writeTextFile(
      `${dir}/${CACHE_FILE}`,
      JSON.stringify({ version: 1, savedAt: 0, affiliates: [badExt] }),
    );
    assertEquals(await readCache(dir), [affiliate(2)]);
  });
});
