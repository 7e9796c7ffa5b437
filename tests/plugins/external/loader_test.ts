/**
 * Loading site plugins: every refusal is a config problem at the entry's
 * field path (what `edgespan validate` and `run` print before exit 2), and
 * a reload replaces a changed file, keeps an unchanged one running and
 * keeps the running config when the new one is refused.
 */
import { ConfigError, loadConfig } from "../../../core/config/load.ts";
import { knownPlugins } from "../../../core/plugins/registry.ts";
import { loadSitePlugins } from "../../../core/plugins/site.ts";
import { createSiteLoader } from "../../../plugins/external/mod.ts";
import { BUILTIN_PLUGINS } from "../../../plugins/mod.ts";
import {
  assertEquals,
  assertNotEquals,
  assertRejects,
} from "../../_tools/assert.ts";
import { siteEnv, startAgent, status, waitFor } from "./_fixture.ts";

const ROUTES = (net: string) =>
  `export default {
  apiVersion: 1, version: "1.2.0", description: "routes", hooks: ["routeAdvertisement"],
  parseOptions(raw) {
    const problems = Object.keys(raw).filter((k) => k !== "extra")
      .map((k) => ({ path: k, message: "unknown key; this plugin takes extra" }));
    return problems.length ? { ok: false, problems } : { ok: true, options: raw };
  },
  create: (ctx, o) => ({ routeAdvertisement: { advertise: () => ["${net}", ...(o.extra ?? [])] } }),
};\n`;

/** The problems `edgespan validate` reports for a `plugins:` section. */
async function problems(
  plugins: string,
  files: Record<string, string> = {},
): Promise<string[]> {
  const env = await siteEnv();
  try {
    for (const [name, text] of Object.entries(files)) {
      await env.writePlugin(name, text);
    }
    await env.writeConfig(plugins.replaceAll("$DIR", env.dir));
    const e = await assertRejects(async () => {
      const config = await loadConfig(env.configPath, {
        plugins: knownPlugins(BUILTIN_PLUGINS),
      });
      await loadSitePlugins(createSiteLoader(), config, env.configPath);
    }, ConfigError);
    return e.problems.map((p) =>
      `${p.path}: ${p.message}`.replaceAll(env.dir, "$DIR")
    );
  } finally {
    await env.remove();
  }
}

Deno.test("site plugin entry: each refusal is a config problem at its field path", async (t) => {
  await t.step("missing file", async () => {
    const [p] = await problems("  r: { module: $DIR/nope.js }");
    assertEquals(
      p,
      "plugins.r.module: cannot be read: the file does not exist",
    );
  });
  await t.step("syntax error", async () => {
    const [p] = await problems("  r: { module: $DIR/bad.js }", {
      "bad.js": "export default {",
    });
    assertEquals(
      p?.startsWith("plugins.r.module: cannot be loaded: "),
      true,
      p,
    );
    assertEquals(p?.includes("data:"), false, p);
  });
  await t.step("no default export", async () => {
    assertEquals(
      await problems("  r: { module: $DIR/none.js }", {
        "none.js": "export const x = 1;",
      }),
      [
        "plugins.r.module: has no default export; export default definePlugin({ ... })",
      ],
    );
  });
  await t.step("options the plugin rejects", async () => {
    assertEquals(
      await problems("  r: { module: $DIR/r.js, extra: [], netz: 1 }", {
        "r.js": ROUTES("10.0.0.0/8"),
      }),
      ["plugins.r.netz: unknown key; this plugin takes extra"],
    );
  });
  await t.step("a hook group a site plugin cannot have", async () => {
    const [p] = await problems("  r: { module: $DIR/sel.js }", {
      "sel.js": ROUTES("10.0.0.0/8").replace(
        '["routeAdvertisement"]',
        '["peerSelection"]',
      ),
    });
    assertEquals(
      p?.startsWith('plugins.r.module: declares hooks ["peerSelection"]'),
      true,
      p,
    );
  });
  await t.step("shape of the entry", async () => {
    assertEquals(
      await problems(
        "  endpoint-filter: { module: /x.js }\n" +
          "  Bad_Name: { module: rel.js }\n" +
          "  p: { module: /x.txt, permissions: { run: [ls], net: true, read: [etc, $DIR/state/k] } }",
      ),
      [
        'plugins.endpoint-filter.module: "endpoint-filter" is a built-in plugin; give the site plugin another name',
        'plugins.Bad_Name: "Bad_Name" is not a plugin name; use lowercase words joined by "-" (e.g. my-routes)',
        'plugins.Bad_Name.module: "rel.js" is not an absolute path (write e.g. /etc/edgespan/plugins/Bad_Name.js)',
        'plugins.p.module: "/x.txt" is not a .js, .mjs, .ts or .mts file',
        "plugins.p.permissions.run: cannot be granted: a site plugin never runs programs",
        'plugins.p.permissions.net: grant a list (e.g. net: ["..."]); a blanket grant is refused',
        'plugins.p.permissions.read[0]: "etc" is not an absolute path',
        'plugins.p.permissions.read[1]: "$DIR/state/k" would expose the state directory "$DIR/state" (the private key and the API token); grant the files the plugin needs',
      ],
    );
  });
  await t.step("a grant that covers the config file", async () => {
    assertEquals(
      await problems(
        "  r: { module: $DIR/r.js, permissions: { read: [$DIR/config.yaml] } }",
        {
          "r.js": ROUTES("10.0.0.0/8"),
        },
      ),
      [
        'plugins.r.permissions.read[0]: "$DIR/config.yaml" would expose the config file "$DIR/config.yaml" (it holds the cluster secret); grant the files the plugin needs',
      ],
    );
  });
});

function advertised(
  agent: Awaited<ReturnType<typeof startAgent>>,
  name: string,
) {
  return agent.registry.hooks.routeAdvertisement.advertise()
    .find((a) => a.name === name)?.value;
}

Deno.test("reload: a changed file is loaded anew, a refused one keeps the running plugin, a removed entry stops it", async () => {
  const env = await siteEnv();
  try {
    const file = await env.writePlugin("r.js", ROUTES("10.1.0.0/16"));
    await env.writeConfig(`  r: { module: ${file} }`);
    const agent = await startAgent(env);
    try {
      const first = status(agent, "r");
      assertEquals([first.state, first.source, first.version], [
        "running",
        file,
        "1.2.0",
      ]);
      await waitFor("first answer", () => advertised(agent, "r"));
      assertEquals(advertised(agent, "r"), ["10.1.0.0/16"]);

      // Same file, new options: the same worker gets reload().
      await env.writeConfig(`  r: { module: ${file}, extra: [10.9.0.0/16] }`);
      await agent.reload();
      assertEquals(status(agent, "r").sha256, first.sha256);
      await waitFor("new options", () => {
        const v = advertised(agent, "r") as string[] | undefined;
        return v?.length === 2 ? v : undefined;
      });

      // A changed file: new hash, new answers.
      await Deno.writeTextFile(file, ROUTES("10.2.0.0/16"));
      await agent.reload();
      assertNotEquals(status(agent, "r").sha256, first.sha256);
      assertEquals(
        await waitFor("new file's answer", () => advertised(agent, "r")),
        ["10.2.0.0/16", "10.9.0.0/16"],
      );

      // A broken file: reload rejected, the running plugin keeps answering.
      await Deno.writeTextFile(file, "export default {");
      await assertRejects(() => agent.reload(), ConfigError);
      assertEquals(status(agent, "r").state, "running");
      assertEquals(advertised(agent, "r"), ["10.2.0.0/16", "10.9.0.0/16"]);

      // Disabled and enabled at run time, as a built-in.
      await agent.setPluginEnabled("r", false);
      assertEquals(status(agent, "r").state, "disabled");
      assertEquals(advertised(agent, "r"), undefined);
      await agent.setPluginEnabled("r", true);
      assertEquals(status(agent, "r").state, "running");

      // The entry removed: the plugin is gone.
      await Deno.writeTextFile(file, ROUTES("10.2.0.0/16"));
      await env.writeConfig("  {}");
      await agent.reload();
      assertEquals(
        agent.registry.statuses().some((s) => s.name === "r"),
        false,
      );
      assertEquals(agent.store.get("plugins", "r"), undefined);
    } finally {
      await agent.stop();
    }
  } finally {
    await env.remove();
  }
});
