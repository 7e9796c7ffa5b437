/** `discovery.serve` totals and GC interval, from the site config to the service. */
import { validateConfig } from "../../../core/config/validate.ts";
import { serveOptionsFromConfig } from "../../../plugins/discovery_service/server/supervise.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";

const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";

function withServe(serve: Record<string, unknown>) {
  return validateConfig({
    cluster: { id: "site-a", secret: SECRET },
    discovery: { serve: { listen: "127.0.0.1:3000", ...serve } },
  });
}

Deno.test("discovery.serve maxClusters, maxAffiliates and gcInterval reach the service options", async () => {
  const r = withServe({ maxClusters: 8, maxAffiliates: 500, gcInterval: "5s" });
  assert(r.ok, JSON.stringify(r));
  const opts = await serveOptionsFromConfig(r.config.discovery.serve!);
  assertEquals(opts.limits, { clustersMax: 8, totalAffiliatesMax: 500 });
  assertEquals(opts.gcIntervalMs, 5_000);
});

Deno.test("discovery.serve without totals keeps the service defaults", async () => {
  const r = withServe({});
  assert(r.ok, JSON.stringify(r));
  const opts = await serveOptionsFromConfig(r.config.discovery.serve!);
  assertEquals(opts.limits, {});
  assertEquals(opts.gcIntervalMs, undefined);
});

Deno.test("discovery.serve rejects bad totals and GC intervals by path", () => {
  const r = withServe({
    maxClusters: 0,
    maxAffiliates: "many",
    gcInterval: "10ms",
  });
  assert(!r.ok);
  assertEquals(r.problems.map((p) => p.path), [
    "discovery.serve.maxClusters",
    "discovery.serve.maxAffiliates",
    "discovery.serve.gcInterval",
  ]);
  const obj = withServe({ gcInterval: { every: 1 } });
  assert(!obj.ok);
  assertEquals(obj.problems.map((p) => `${p.path}: ${p.message}`), [
    "discovery.serve.gcInterval: expected a duration such as 10s",
  ]);
});
