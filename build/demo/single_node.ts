/**
 * The fallback of the demo where network namespaces cannot be made (not
 * root): one agent on a generated config in `.cache/demo/`, without kernel
 * changes, showing what it derived. Runs until Ctrl-C.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Agent } from "../../core/agent.ts";
import { renderStarterConfig } from "../../core/config/starter.ts";
import { renderResources } from "../../web/cli/output.ts";
import { RESOURCE_DEFINITIONS } from "../../core/resources/definitions.ts";
import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import { VERSION } from "../../core/version.ts";
import { createLogger } from "../../core/log/logger.ts";

/** Runs the single-node demo; resolves when stopped. */
export async function runSingleNodeDemo(
  values: { seconds?: string | undefined; dir?: string | undefined },
): Promise<void> {
  const root = values.dir ??
    `${new URL("../../.cache/demo", import.meta.url).pathname}`;
  await Deno.mkdir(root, { recursive: true });
  const configPath = `${root}/config.yaml`;
  try {
    await Deno.stat(configPath);
  } catch {
    const text = renderStarterConfig({ stateDir: `${root}/state` })
      .replace(/endpoints:\n {4}- \S+/, "endpoints: []")
      .replace("interval: 30s", "interval: 5s")
      .replace("level: info", "level: warn");
    await Deno.writeTextFile(configPath, text);
    console.log(`wrote ${configPath}`);
  }

  const agent = await Agent.start({
    configPath,
    plugins: BUILTIN_PLUGINS,
    version: VERSION,
    log: createLogger({ level: "warn" }),
  });
  await agent.settle();
  const show = (type: string) => {
    const def = RESOURCE_DEFINITIONS.find((d) => d.type === type)!;
    console.log(`\n$ edgespan get ${type}`);
    console.log(
      renderResources(def, agent.store.list(type), "table", Date.now())
        .trimEnd(),
    );
  };
  console.log(`edgespan ${VERSION}: agent up with config ${configPath}`);
  for (const type of ["identity", "affiliates", "plugins"]) show(type);
  console.log(
    `\nidentity file: ${agent.config.node.stateDir}/kubespan-identity.yaml (mode 0600, reused on restart)`,
  );

  const done = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", () => done.resolve());
  Deno.addSignalListener("SIGTERM", () => done.resolve());
  if (values.seconds) {
    setTimeout(() => done.resolve(), Number(values.seconds) * 1000);
  } else console.log("\nrunning; press Ctrl-C to stop");
  await done.promise;
  await agent.stop();
  console.log("stopped");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { seconds: { type: "string" }, dir: { type: "string" } },
  });
  await runSingleNodeDemo(values);
  Deno.exit(0);
}
