import { testPluginContext } from "../../_tools/plugin_context.ts";
import { assertEquals } from "../../_tools/assert.ts";
import { parse } from "yaml";
import { parseSearchOptions } from "../../../plugins/connectivity/options.ts";
import { SEARCH_TIMERS } from "../../../plugins/connectivity/search.ts";
import { endpointSearchPlugin } from "../../../plugins/connectivity/plugin.ts";
import { BUILTIN_PLUGINS } from "../../../plugins/mod.ts";
import { validateConfig } from "../../../core/config/validate.ts";
import { knownPlugins } from "../../../core/plugins/registry.ts";
import type { EdgespanConfig } from "../../../core/config/types.ts";
import type {
  PeerSpecSpec,
  PeerStatusSpec,
} from "../../../core/resources/specs.ts";

const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";
const T0 = Date.parse("2026-01-01T00:00:00Z");

Deno.test("parseSearchOptions(): durations as in the rest of the config, absent keys keep the defaults", () => {
  assertEquals(parseSearchOptions({}), { ok: true, options: SEARCH_TIMERS });
  assertEquals(
    parseSearchOptions({
      switchInterval: "1s",
      downAfter: "1m",
      downSwitchInterval: "20s",
      silentAfter: "1m30s",
    }),
    {
      ok: true,
      options: {
        switchIntervalMs: 1_000,
        downAfterMs: 60_000,
        downSwitchIntervalMs: 20_000,
        silentAfterMs: 90_000,
        coordinate: true,
      },
    },
  );
  assertEquals(parseSearchOptions({ switchInterval: "2.5s" }), {
    ok: true,
    options: SEARCH_TIMERS,
  });
});

Deno.test("parseSearchOptions(): typed problems, one per bad key", () => {
  const problems = (raw: Record<string, unknown>) => {
    const r = parseSearchOptions(raw);
    return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
  };
  assertEquals(problems({ switchInterval: "fast", downAfter: true }), [
    'switchInterval: Cannot parse "fast" as a duration: write e.g. 30s, 500ms, 1m30s or 2h',
    "downAfter: must be a duration such as 2.5s or 500ms",
  ]);
  assertEquals(problems({ switchIntervall: "1s" }), [
    'switchIntervall: unknown key; "endpoint-search" takes "switchInterval", "downAfter", "downSwitchInterval", "silentAfter", "coordinate"',
  ]);
  assertEquals(problems({ switchInterval: "100ms" }), [
    'switchInterval: must be between 500ms and 2m (a handshake needs a round trip), got "100ms"',
  ]);
  assertEquals(problems({ coordinate: "no" }), [
    "coordinate: must be true or false",
  ]);
  assertEquals(parseSearchOptions({ coordinate: false }), {
    ok: true,
    options: { ...SEARCH_TIMERS, coordinate: false },
  });
  assertEquals(problems({ downAfter: "0s" }), [
    'downAfter: must be above 0, got "0s"',
  ]);
  assertEquals(problems({ switchInterval: "20s" }), [
    "downSwitchInterval: must not be shorter than switchInterval (a down peer is searched more slowly, not faster)",
  ]);
  assertEquals(problems({ silentAfter: "20s" }), [
    "silentAfter: must be above 25s: a healthy peer sends a keepalive only every 25 s",
  ]);
});

Deno.test("endpoint-search options in a site config: problems carry the full field path", () => {
  const result = validateConfig(
    parse(`
cluster: { id: lab, secret: "${SECRET}" }
plugins:
  endpoint-search:
    switchInterval: soon
    silentAfter: 10s
`),
    { plugins: knownPlugins(BUILTIN_PLUGINS) },
  );
  assertEquals(
    result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`),
    [
      'plugins.endpoint-search.switchInterval: Cannot parse "soon" as a duration: write e.g. 30s, 500ms, 1m30s or 2h',
    ],
  );
  const good = validateConfig(
    parse(`
cluster: { id: lab, secret: "${SECRET}" }
plugins:
  endpoint-search: { switchInterval: 1s }
`),
    { plugins: knownPlugins(BUILTIN_PLUGINS) },
  );
  assertEquals(good.ok, true);
});

Deno.test("endpoint-search: the switch interval option sets the schedule (1 s instead of 2.5 s), a reload changes it", () => {
  const abort = new AbortController();
  const ctx = testPluginContext({
    pluginName: "endpoint-search",
    now: () => T0,
    signal: abort.signal,
  });
  const parsed = parseSearchOptions({ switchInterval: "1s" });
  if (!parsed.ok) throw new Error("options rejected");
  const plugin = endpointSearchPlugin.create(ctx, parsed.options);
  try {
    const spec = {
      address: "fd00::2",
      endpoints: ["198.51.100.12:51820", "10.2.0.12:51820"],
    } as PeerSpecSpec;
    const status = { state: "unknown", receiveBytes: 0 } as PeerStatusSpec;
    const ask = (at: number, last: string) =>
      plugin.peerSelection.nextEndpoint(
        { ...status, lastUsedEndpoint: last },
        spec,
        T0 + at,
      );
    assertEquals(ask(0, ""), "198.51.100.12:51820");
    assertEquals(ask(999, "198.51.100.12:51820"), undefined);
    assertEquals(ask(1_000, "198.51.100.12:51820"), "10.2.0.12:51820");
    const slower = parseSearchOptions({ switchInterval: "5s" });
    if (!slower.ok) throw new Error("options rejected");
    plugin.reload?.(slower.options, {} as EdgespanConfig);
    assertEquals(ask(4_999, "198.51.100.12:51820"), undefined);
    assertEquals(ask(5_000, "198.51.100.12:51820"), "10.2.0.12:51820");
  } finally {
    abort.abort();
  }
});
