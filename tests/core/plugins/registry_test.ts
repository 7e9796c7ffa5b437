import { validateConfig } from "../../../core/config/validate.ts";
import type { EdgespanConfig } from "../../../core/config/types.ts";
import type { LocalIdentity } from "../../../core/identity/identity.ts";
import { silentLogger } from "../../../core/log/logger.ts";
import {
  knownPlugins,
  PluginRegistry,
} from "../../../core/plugins/registry.ts";
import {
  type AnyPluginDefinition,
  definePlugin,
} from "../../../core/plugins/types.ts";
import type { PluginStatusSpec } from "../../../core/resources/specs.ts";
import { RESOURCE_DEFINITIONS } from "../../../core/resources/definitions.ts";
import { ResourceStore } from "../../../core/resources/store.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";

const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";
const IDENTITY = {} as LocalIdentity;

function config(
  plugins: Record<string, unknown>,
  defs: AnyPluginDefinition[],
): EdgespanConfig {
  const r = validateConfig({ cluster: { id: "t", secret: SECRET }, plugins }, {
    plugins: knownPlugins(defs),
  });
  assert(r.ok, JSON.stringify(r));
  return r.config;
}

function fixture() {
  const calls: string[] = [];
  const upper = definePlugin({
    name: "upper",
    hooks: ["endpointFilter"],
    version: "1.0.0",
    description: "upper-cases",
    defaultEnabled: true,
    create: () => ({
      start: () => void calls.push("upper:start"),
      stop: () => void calls.push("upper:stop"),
      reload: () => void calls.push("upper:reload"),
      endpointFilter: {
        advertised: (a) => a.map((x) => x.toUpperCase()),
        accepted: (e) => [...e],
      },
    }),
  });
  const broken = definePlugin({
    name: "broken",
    hooks: ["endpointFilter"],
    version: "1.0.0",
    description: "throws",
    defaultEnabled: false,
    create: () => ({
      endpointFilter: {
        advertised: () => {
          throw new Error("boom");
        },
        accepted: (e) => [...e],
      },
    }),
  });
  const suffix = definePlugin<"endpointFilter", { suffix: string }>({
    name: "suffix",
    hooks: ["endpointFilter"],
    version: "1.0.0",
    description: "appends",
    defaultEnabled: false,
    parseOptions: (raw) =>
      typeof raw.suffix === "string"
        ? { ok: true, options: { suffix: raw.suffix } }
        : {
          ok: false,
          problems: [{ path: "suffix", message: "expected a string" }],
        },
    create: (_ctx, options) => {
      let s = options.suffix;
      return {
        endpointFilter: {
          advertised: (a) => a.map((x) => x + s),
          accepted: (e) => [...e],
        },
        reload: (o) => void (s = o.suffix),
      };
    },
  });
  const failsToStart = definePlugin({
    name: "fails-to-start",
    hooks: ["peerSelection"],
    version: "1.0.0",
    description: "cannot start",
    defaultEnabled: false,
    create: () => ({
      start: () => {
        throw new Error("no socket");
      },
      peerSelection: { nextEndpoint: () => "x" },
    }),
  });
  const defs = [upper, broken, suffix, failsToStart] as AnyPluginDefinition[];
  const store = new ResourceStore(RESOURCE_DEFINITIONS);
  const registry = new PluginRegistry(defs, { store, log: silentLogger() });
  const status = (name: string) =>
    store.get<PluginStatusSpec>("plugins", name)!.spec;
  return { calls, defs, store, registry, status };
}

Deno.test("PluginRegistry enables plugins per site config and defaults", async () => {
  const { registry, defs, status, calls } = fixture();
  assertEquals(status("upper").state, "disabled");
  await registry.apply(config({}, defs), IDENTITY);
  assertEquals(registry.runningNames("endpointFilter"), ["upper"]);
  assertEquals(calls, ["upper:start"]);
  await registry.apply(
    config({ upper: false, suffix: { suffix: "!" } }, defs),
    IDENTITY,
  );
  assertEquals(registry.runningNames("endpointFilter"), ["suffix"]);
  assertEquals(calls, ["upper:start", "upper:stop"]);
  assertEquals([status("upper").state, status("upper").enabled], [
    "disabled",
    false,
  ]);
  assertEquals(registry.hooks.endpointFilter.advertised(["a"]), ["a!"]);
});

Deno.test("PluginRegistry reloads a running plugin instead of restarting it", async () => {
  const { registry, defs, calls } = fixture();
  await registry.apply(config({ suffix: { suffix: "1" } }, defs), IDENTITY);
  await registry.apply(config({ suffix: { suffix: "2" } }, defs), IDENTITY);
  assertEquals(calls, ["upper:start", "upper:reload"]);
  assertEquals(registry.hooks.endpointFilter.advertised(["a"]), ["A2"]);
});

Deno.test("PluginRegistry reports a throwing plugin and keeps going", async () => {
  const { registry, defs, status } = fixture();
  await registry.apply(config({ broken: true }, defs), IDENTITY);
  const out = registry.hooks.endpointFilter.advertised(["a"]);
  assertEquals(
    out,
    ["A"],
    "the broken plugin is skipped, the others still run",
  );
  const s = status("broken");
  assertEquals([s.state, s.errors], ["failed", 1]);
  assertEquals(s.lastError, 'Plugin "broken" failed in advertised: boom');
  assertEquals(
    registry.hooks.endpointFilter.accepted(["x"], {
      publicKey: "",
      label: "",
      pass: { passId: 1, now: 0 },
    }),
    ["x"],
  );
  assertEquals(
    status("broken").state,
    "running",
    "a successful call clears the failed state",
  );
});

Deno.test("PluginRegistry reports a failed start, falls back, and retries on the next apply", async () => {
  const { registry, defs, status } = fixture();
  const cfg = config({ "fails-to-start": true }, defs);
  await registry.apply(cfg, IDENTITY);
  assertEquals(status("fails-to-start").state, "failed");
  assertEquals(
    status("fails-to-start").lastError,
    'Plugin "fails-to-start" failed in start: no socket',
  );
  assertEquals(
    registry.hooks.peerSelection.nextEndpoint({} as never, {} as never, 0),
    undefined,
    "a plugin that did not start is never called",
  );
  await registry.apply(cfg, IDENTITY);
  assertEquals(status("fails-to-start").errors, 2);
});

Deno.test("PluginRegistry stops everything in reverse order", async () => {
  const { registry, defs, calls, status } = fixture();
  await registry.apply(config({}, defs), IDENTITY);
  await registry.stopAll();
  assertEquals(calls, ["upper:start", "upper:stop"]);
  assertEquals(status("upper").state, "stopped");
  assertEquals(registry.runningNames("endpointFilter"), []);
});

Deno.test("knownPlugins() validates options through the plugin", () => {
  const { defs } = fixture();
  const r = validateConfig(
    {
      cluster: { id: "t", secret: SECRET },
      plugins: { suffix: { suffix: 3 }, upper: { x: 1 } },
    },
    { plugins: knownPlugins(defs) },
  );
  assert(!r.ok);
  assertEquals(r.problems.map((p) => p.path), [
    "plugins.suffix.suffix",
    "plugins.upper.x",
  ], "in file order");
});

Deno.test("a parallel hook isolates a rejecting plugin", async () => {
  const store = new ResourceStore(RESOURCE_DEFINITIONS);
  const mk = (name: string, fail: boolean) =>
    definePlugin({
      name,
      hooks: ["discovery"],
      version: "1",
      description: name,
      defaultEnabled: true,
      create: () => ({
        discovery: {
          publish: () =>
            fail ? Promise.reject(new Error("unreachable")) : Promise.resolve(),
          affiliates: () => [],
          publicAddresses: () => [],
          health: () => ({ state: "connected" as const, detail: "" }),
        },
      }),
    });
  const defs = [mk("good", false), mk("bad", true)] as AnyPluginDefinition[];
  const registry = new PluginRegistry(defs, { store, log: silentLogger() });
  await registry.apply(config({}, defs), IDENTITY);
  const done = await registry.hooks.discovery.publish({} as never, []);
  assertEquals(done.map((d) => d.name), ["good"]);
  assertEquals(
    store.get<PluginStatusSpec>("plugins", "bad")!.spec.lastError,
    'Plugin "bad" failed in publish: unreachable',
  );
});

Deno.test("one plugin implements several hook groups; a lifecycle-only plugin runs without hooks", async () => {
  const store = new ResourceStore(RESOURCE_DEFINITIONS);
  const calls: string[] = [];
  const both = definePlugin({
    name: "both",
    hooks: ["routeAdvertisement", "tunnelBypass"],
    version: "1",
    description: "two groups",
    defaultEnabled: true,
    create: () => ({
      routeAdvertisement: { advertise: () => ["10.1.0.0/16"] },
      tunnelBypass: {
        destinations: () => Promise.resolve(["192.0.2.1"]),
        replyPorts: () => [3000],
      },
    }),
  });
  const service = definePlugin({
    name: "service",
    hooks: [],
    version: "1",
    description: "lifecycle only",
    defaultEnabled: true,
    create: () => ({
      start: () => void calls.push("start"),
      reload: () => void calls.push("reload"),
      stop: () => void calls.push("stop"),
    }),
  });
  const defs = [both, service] as AnyPluginDefinition[];
  const registry = new PluginRegistry(defs, { store, log: silentLogger() });
  const status = (name: string) =>
    store.get<PluginStatusSpec>("plugins", name)!.spec;
  assertEquals(status("both").kind, "routeAdvertisement,tunnelBypass");
  assertEquals(status("service").kind, "lifecycle");
  await registry.apply(config({}, defs), IDENTITY);
  assertEquals(registry.hooks.routeAdvertisement.advertise(), [
    { name: "both", value: ["10.1.0.0/16"] },
  ]);
  assertEquals(await registry.hooks.tunnelBypass.destinations(), [
    { name: "both", value: ["192.0.2.1"] },
  ]);
  assertEquals(registry.hooks.tunnelBypass.replyPorts(), [
    { name: "both", value: [3000] },
  ]);
  assertEquals(registry.runningNames("tunnelBypass"), ["both"]);
  assertEquals(registry.runningNames("discovery"), []);
  assertEquals(status("service").state, "running");
  await registry.apply(config({}, defs), IDENTITY);
  await registry.apply(config({ service: false }, defs), IDENTITY);
  assertEquals(calls, ["start", "reload", "stop"]);
});

Deno.test("an optional hook a plugin leaves out counts as done", async () => {
  const store = new ResourceStore(RESOURCE_DEFINITIONS);
  const mk = (name: string, leave?: () => Promise<void>) =>
    definePlugin({
      name,
      hooks: ["discovery"],
      version: "1",
      description: name,
      defaultEnabled: true,
      create: () => ({
        discovery: {
          publish: () => Promise.resolve(),
          affiliates: () => [],
          publicAddresses: () => [],
          health: () => ({ state: "static" as const, detail: "" }),
          ...(leave ? { leave } : {}),
        },
      }),
    });
  let left = 0;
  const defs = [
    mk("with-leave", () => Promise.resolve(void left++)),
    mk("without-leave"),
  ] as AnyPluginDefinition[];
  const registry = new PluginRegistry(defs, { store, log: silentLogger() });
  await registry.apply(config({}, defs), IDENTITY);
  const done = await registry.hooks.discovery.leave();
  assertEquals(done.map((d) => d.name), ["with-leave", "without-leave"]);
  assertEquals(left, 1);
});
