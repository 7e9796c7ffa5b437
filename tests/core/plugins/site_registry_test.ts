/**
 * The registry's side of site plugins, with in-process definitions (no
 * worker): a pending answer skips without failing, site plugins are added,
 * kept, replaced and removed by origin, statuses say where each comes from
 * and calls are counted.
 */
import { validateConfig } from "../../../core/config/validate.ts";
import type { EdgespanConfig } from "../../../core/config/types.ts";
import type { LocalIdentity } from "../../../core/identity/identity.ts";
import type { WgKey } from "../../../core/identity/keys.ts";
import { silentLogger } from "../../../core/log/logger.ts";
import {
  knownPlugins,
  PluginRegistry,
} from "../../../core/plugins/registry.ts";
import {
  describePermissions,
  PluginPendingError,
  publicIdentity,
  redactedConfig,
  siteEntries,
  type SitePluginDefinition,
} from "../../../core/plugins/site.ts";
import { definePlugin } from "../../../core/plugins/types.ts";
import { RESOURCE_DEFINITIONS } from "../../../core/resources/definitions.ts";
import { ResourceStore } from "../../../core/resources/store.ts";
import { assert, assertEquals, assertRejects } from "../../_tools/assert.ts";

const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";
const IDENTITY = {
  spec: {
    address: "fd00::1/128",
    subnet: "fd00::/64",
    privateKey: "PRIVATE" as WgKey,
    publicKey: "PUBLIC" as WgKey,
  },
  nodeId: "node-1",
} as LocalIdentity;

const builtIn = definePlugin({
  name: "lower",
  hooks: ["endpointFilter"],
  version: "1.0.0",
  description: "lower-cases",
  defaultEnabled: true,
  create: () => ({
    endpointFilter: {
      advertised: (a) => a.map((x) => x.toLowerCase()),
      accepted: (e) => [...e],
    },
  }),
});

function config(plugins: Record<string, unknown>): EdgespanConfig {
  const r = validateConfig({
    cluster: { id: "t", secret: SECRET },
    node: { stateDir: "/var/lib/edgespan" },
    plugins,
  }, { plugins: knownPlugins([builtIn]) });
  assert(r.ok, JSON.stringify(r));
  return r.config;
}

/** A site definition answering `advertised` with `answer` (`pending` throws PluginPendingError). */
function site(
  name: string,
  sha256: string,
  answer: () => string[],
  log: string[] = [],
): SitePluginDefinition {
  return {
    name,
    hooks: ["endpointFilter"],
    version: "2.0.0",
    description: "site",
    defaultEnabled: false,
    origin: { source: `/etc/${name}.js`, sha256, permissions: ["net:a:1"] },
    create: () => {
      log.push(`${name}:${sha256}:create`);
      return {
        stop: () => void log.push(`${name}:${sha256}:stop`),
        endpointFilter: { advertised: answer, accepted: (e) => [...e] },
      };
    },
  };
}

function fixture() {
  const store = new ResourceStore(RESOURCE_DEFINITIONS);
  return {
    store,
    registry: new PluginRegistry([builtIn], { store, log: silentLogger() }),
  };
}

Deno.test("site plugin: a pending answer skips it without failing it", async () => {
  const { registry } = fixture();
  let pending = true;
  await registry.setSitePlugins([site("s", "aa", () => {
    if (pending) throw new PluginPendingError("s", "endpointFilter.advertised");
    return ["SITE"];
  })]);
  const cfg = config({ s: { module: "/etc/s.js" } });
  await registry.apply(cfg, IDENTITY);
  assertEquals(registry.hooks.endpointFilter.advertised(["A"]), ["a"]);
  const s = registry.statuses().find((x) => x.name === "s")!;
  assertEquals([s.state, s.errors], ["running", 0]);
  pending = false;
  assertEquals(registry.hooks.endpointFilter.advertised(["A"]), ["SITE"]);
  assertEquals(
    registry.callStats().find((x) => x.name === "s")?.calls,
    2,
    "a pending call is a call",
  );
});

Deno.test("site plugins: kept when unchanged, replaced when the hash changes, removed with their entry", async () => {
  const { registry, store } = fixture();
  const log: string[] = [];
  const cfg = config({ s: { module: "/etc/s.js" } });
  await registry.setSitePlugins([site("s", "aa", () => ["1"], log)]);
  await registry.apply(cfg, IDENTITY);
  const first = registry.statuses().find((x) => x.name === "s")!;
  assertEquals(
    [first.source, first.sha256, first.permissions, first.version],
    ["/etc/s.js", "aa", ["net:a:1"], "2.0.0"],
  );
  assertEquals(
    registry.statuses().find((x) => x.name === "lower")?.source,
    "built-in",
  );

  await registry.setSitePlugins([site("s", "aa", () => ["1"], log)]);
  await registry.apply(cfg, IDENTITY);
  assertEquals(log, ["s:aa:create"], "same bytes: the running instance stays");

  await registry.setSitePlugins([site("s", "bb", () => ["2"], log)]);
  assertEquals(
    registry.statuses().find((x) => x.name === "s")?.state,
    "disabled",
  );
  await registry.apply(cfg, IDENTITY);
  assertEquals(log, ["s:aa:create", "s:aa:stop", "s:bb:create"]);
  assertEquals(registry.hooks.endpointFilter.advertised(["A"]), ["2"]);

  await registry.setSitePlugins([]);
  assertEquals(log.at(-1), "s:bb:stop");
  assertEquals(registry.statuses().map((x) => x.name), ["lower"]);
  assertEquals(store.get("plugins", "s"), undefined);
});

Deno.test("site plugin cannot take a built-in plugin's name", async () => {
  const { registry } = fixture();
  await assertRejects(
    () => registry.setSitePlugins([site("lower", "aa", () => [])]),
    TypeError,
    'Cannot load site plugin "lower": a built-in plugin has that name',
  );
});

Deno.test("site entries, grants and the redacted context", () => {
  const cfg = config({
    lower: false,
    s: {
      module: "/etc/s.js",
      enabled: false,
      permissions: { net: ["cmdb:443"], read: ["/etc/inv.json"] },
      file: "/etc/inv.json",
    },
  });
  assertEquals(siteEntries(cfg), [{
    name: "s",
    module: "/etc/s.js",
    permissions: { net: ["cmdb:443"], read: ["/etc/inv.json"] },
    options: { file: "/etc/inv.json" },
    enabled: false,
  }]);
  assertEquals(
    describePermissions({ net: ["cmdb:443"], read: ["/etc/inv.json"] }),
    ["read:/etc/inv.json", "net:cmdb:443"],
  );
  assertEquals(redactedConfig(cfg).cluster.secret, "(redacted)");
  assertEquals(cfg.cluster.secret, SECRET, "the agent's config is untouched");
  assertEquals(publicIdentity(IDENTITY), {
    nodeId: "node-1",
    publicKey: "PUBLIC",
    address: "fd00::1/128",
    subnet: "fd00::/64",
  });
});
