/**
 * The `edgespan` command line. Every dependency that is not core (HTTP
 * client, API server, discovery server, kernel mesh step) is injected by
 * the composition root, so this face depends on the core alone.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { Agent, type AgentOptions, type Attachment } from "../../core/agent.ts";
import type { MeshStep } from "../../core/mesh/types.ts";
import { ConfigError, loadConfig } from "../../core/config/load.ts";
import type { EdgespanConfig } from "../../core/config/types.ts";
import { renderStarterConfig } from "../../core/config/starter.ts";
import { IdentityError } from "../../core/identity/store.ts";
import { knownPlugins } from "../../core/plugins/registry.ts";
import type { AnyPluginDefinition } from "../../core/plugins/types.ts";
import { RESOURCE_DEFINITIONS } from "../../core/resources/definitions.ts";
import type {
  Resource,
  ResourceDefinition,
  ResourceEvent,
} from "../../core/resources/store.ts";
import { closestName } from "../../core/config/did_you_mean.ts";
import { type OutputFormat, renderResources } from "./output.ts";

/** Reads resources from a running agent. */
export interface ResourceClient {
  list(apiBase: string, type: string): Promise<Resource[]>;
  get(apiBase: string, type: string, id: string): Promise<Resource | undefined>;
  watch(
    apiBase: string,
    type: string,
    signal: AbortSignal,
  ): AsyncIterable<ResourceEvent>;
}

/** An extra subcommand provided outside core. */
export interface ExtraCommand {
  summary: string;
  run(args: string[]): Promise<number>;
}

/** Dependencies of {@linkcode runCli}. */
export interface CliDeps {
  version: string;
  plugins: readonly AnyPluginDefinition[];
  resources?: ResourceClient;
  /**
   * Builds the kernel mesh step for a config. `wake` asks for a pass soon
   * (e.g. when wireguard-go was restarted between passes).
   */
  mesh?: (
    config: EdgespanConfig,
    log: Agent["log"],
    wake: (reason: string) => void,
  ) => MeshStep | Promise<MeshStep>;
  /** Started after the agent is up (the local API). */
  attach?: (agent: Agent) => Promise<Attachment[]>;
  commands?: Record<string, ExtraCommand>;
  /** Output sinks. @default stdout and stderr */
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** Extra agent options (tests). */
  agentOptions?: Partial<AgentOptions>;
}

/** A mistake in how the command was called; exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const encoder = new TextEncoder();
const writeOut = (t: string) => void Deno.stdout.writeSync(encoder.encode(t));
const writeErr = (t: string) => void Deno.stderr.writeSync(encoder.encode(t));

const MAIN_HELP = `edgespan — WireGuard full-mesh agent for edge boxes

Usage: edgespan <command> [options]

Commands:
  run --config FILE        run the agent (SIGHUP reloads the config)
  validate --config FILE   check a config file and print every problem
  gen config               print a commented starter config with fresh secrets
  get <resource> [id]      show resources of a running agent
  leave --config FILE      remove this node from the discovery services
  version                  print the version
%EXTRA%
Resources: identity, affiliates, peerspecs, peerstatuses, endpoints, config, plugins
Run "edgespan <command> --help" for the options of a command.
`;

const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const;

function parse<const O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
) {
  try {
    return parseArgs({
      args,
      options: { ...options, ...HELP_OPTION },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(
      (e as Error).message.replace(/\. To specify a positional.*$/s, ""),
    );
  }
}

function apiBaseFrom(listen: string): string {
  return `http://${listen}`;
}

async function resolveApiBase(
  values: { api?: string | undefined; config?: string | undefined },
): Promise<string> {
  if (values.api) return values.api.replace(/\/$/, "");
  if (values.config) {
    const config = await loadConfig(values.config);
    return apiBaseFrom(config.api.listen);
  }
  return (Deno.env.get("EDGESPAN_API") ?? "http://127.0.0.1:7443").replace(
    /\/$/,
    "",
  );
}

function resolveType(name: string | undefined): ResourceDefinition {
  const types = RESOURCE_DEFINITIONS.map((d) => d.type);
  if (!name) {
    throw new UsageError(
      `Missing the resource type: one of ${types.join(", ")}`,
    );
  }
  const lower = name.toLowerCase();
  const def = RESOURCE_DEFINITIONS.find((d) =>
    d.type === lower || d.aliases.includes(lower)
  );
  if (!def) {
    const hint = closestName(lower, [
      ...types,
      ...RESOURCE_DEFINITIONS.flatMap((d) => d.aliases),
    ]);
    throw new UsageError(
      `Unknown resource type "${name}"${
        hint ? `; did you mean "${hint}"?` : ""
      } (known: ${types.join(", ")})`,
    );
  }
  return def;
}

async function cmdGet(args: string[], deps: CliDeps): Promise<number> {
  const { values, positionals } = parse(args, {
    output: { type: "string", short: "o" },
    watch: { type: "boolean", short: "w" },
    api: { type: "string" },
    config: { type: "string", short: "c" },
  });
  const out = deps.out ?? writeOut;
  if (values.help) {
    out(
      `Usage: edgespan get <resource> [id] [-o table|yaml|json] [--watch] [--api URL | --config FILE]

Reads resources from the local API of a running agent (default ${"http://127.0.0.1:7443"},
or $EDGESPAN_API, or api.listen of --config). Tables humanise bytes and ages;
yaml and json show raw values.
`,
    );
    return 0;
  }
  const format = (values.output ?? "table") as OutputFormat;
  if (!["table", "yaml", "json"].includes(format)) {
    throw new UsageError(
      `Unknown output format "${values.output}": use table, yaml or json`,
    );
  }
  const def = resolveType(positionals[0]);
  const id = positionals[1];
  if (!deps.resources) throw new UsageError("This build has no API client");
  const base = await resolveApiBase(values);
  const show = (items: Resource[]) =>
    out(renderResources(def, items, format, Date.now()));
  if (id !== undefined) {
    const one = await deps.resources.get(base, def.type, id);
    if (!one) {
      (deps.err ?? writeErr)(
        `No ${def.type} resource with id "${id}" (list them with "edgespan get ${def.type}")\n`,
      );
      return 1;
    }
    show([one]);
  } else {
    show(await deps.resources.list(base, def.type));
  }
  if (!values.watch) return 0;
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    for await (
      const event of deps.resources.watch(base, def.type, abort.signal)
    ) {
      if (id !== undefined && event.resource.id !== id) continue;
      if (format === "table") {
        out(
          `${event.kind.toUpperCase()} ` +
            renderResources(def, [event.resource], "table", Date.now()).split(
              "\n",
            )[1] + "\n",
        );
      } else show([event.resource]);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
  return 0;
}

function cmdGen(args: string[], deps: CliDeps): number {
  const { values, positionals } = parse(args, {
    "discovery-endpoint": { type: "string" },
    "state-dir": { type: "string" },
  });
  const out = deps.out ?? writeOut;
  if (values.help || positionals[0] !== "config") {
    if (!values.help) {
      throw new UsageError(
        positionals[0] === undefined
          ? 'Missing what to generate: use "edgespan gen config"'
          : `Cannot generate "${positionals[0]}": only "config" is supported`,
      );
    }
    out(
      `Usage: edgespan gen config [--discovery-endpoint URL] [--state-dir DIR] > config.yaml

Prints a commented starter config with a fresh cluster id and a fresh 32-byte
secret. Copy its cluster section to every box of the site group.
`,
    );
    return 0;
  }
  const stateDir = values["state-dir"];
  if (stateDir !== undefined && !stateDir.startsWith("/")) {
    throw new UsageError(
      `The --state-dir "${stateDir}" is not an absolute path: give the full path, e.g. /var/lib/edgespan`,
    );
  }
  out(renderStarterConfig({
    ...(values["discovery-endpoint"]
      ? { discoveryEndpoint: values["discovery-endpoint"] }
      : {}),
    ...(values["state-dir"] ? { stateDir: values["state-dir"] } : {}),
  }));
  return 0;
}

async function cmdValidate(args: string[], deps: CliDeps): Promise<number> {
  const { values } = parse(args, { config: { type: "string", short: "c" } });
  const out = deps.out ?? writeOut;
  if (values.help) {
    out(
      "Usage: edgespan validate --config FILE\n\nChecks the file and prints every problem with its field path (exit 2 if any).\n",
    );
    return 0;
  }
  if (!values.config) throw new UsageError("Missing --config FILE");
  await loadConfig(values.config, { plugins: knownPlugins(deps.plugins) });
  out(`${values.config}: ok\n`);
  return 0;
}

async function cmdLeave(args: string[], deps: CliDeps): Promise<number> {
  const { values } = parse(args, { config: { type: "string", short: "c" } });
  const out = deps.out ?? writeOut;
  if (values.help) {
    out(`Usage: edgespan leave --config FILE

Removes this node from the discovery services of the config (peers drop it at
once instead of after the 30 min TTL). Stop the agent first, or it publishes
the node again.
`);
    return 0;
  }
  if (!values.config) throw new UsageError("Missing --config FILE");
  const agent = await Agent.start({
    configPath: values.config,
    plugins: deps.plugins,
    version: deps.version,
    startLoop: false,
    ...deps.agentOptions,
  });
  try {
    const left = await agent.leave();
    out(
      left.length
        ? `left the mesh: removed node ${agent.identity.nodeId} from ${
          left.join(", ")
        }\n`
        : "no discovery plugin is enabled; nothing to leave\n",
    );
    return left.length || !agent.registry.runningNames("discovery").length
      ? 0
      : 1;
  } finally {
    await agent.stop();
  }
}

async function cmdRun(args: string[], deps: CliDeps): Promise<number> {
  const { values } = parse(args, {
    config: { type: "string", short: "c" },
    cleanup: { type: "boolean" },
  });
  const out = deps.out ?? writeOut;
  if (values.help) {
    out(`Usage: edgespan run --config FILE [--cleanup]

Runs the agent. SIGHUP re-reads the config; SIGINT/SIGTERM stop it and leave
the mesh in place so traffic survives a restart, unless --cleanup is given,
which removes the link, routes, rules and nftables table on exit.
`);
    return 0;
  }
  if (!values.config) {
    throw new UsageError(
      "Missing --config FILE (create one with `edgespan gen config > config.yaml`)",
    );
  }
  let mesh: MeshStep | undefined;
  const wake = (reason: string) => {
    try {
      agent.requestReconcile(reason);
    } catch {
      // still starting: the first pass is running and reads the kernel anyway
    }
  };
  const agent = await Agent.start({
    configPath: values.config,
    plugins: deps.plugins,
    version: deps.version,
    ...(deps.mesh
      ? {
        mesh: {
          // Built lazily so that a bad config fails before any kernel work.
          pass: async (input) => {
            mesh ??= await deps.mesh!(input.config, input.log, wake);
            return await mesh.pass(input);
          },
          cleanup: async (config) => {
            mesh ??= await deps.mesh!(config, agent.log, wake);
            await mesh.cleanup?.(config);
          },
          close: async () => await mesh?.close?.(),
          health: () => mesh?.health?.(),
          checks: () =>
            mesh?.checks?.() ??
              { mesh: { ok: false, detail: "not configured yet" } },
        },
      }
      : {}),
    ...deps.agentOptions,
  });
  // Signals first, so a stop request that arrives while we start is honoured.
  const done = Promise.withResolvers<void>();
  const stop = () => done.resolve();
  const reload = () => {
    agent.reload().catch((e) =>
      agent.log.error("reload rejected; keeping the running config", {
        error: e,
      })
    );
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGHUP", reload);
  const id = agent.identity;
  out(
    `edgespan ${deps.version} running\n` +
      `  node id     ${id.nodeId}\n` +
      `  public key  ${id.spec.publicKey}\n` +
      `  address     ${id.spec.address}\n` +
      `  subnet      ${id.spec.subnet}\n` +
      `  api         http://${agent.config.api.listen}\n`,
  );
  const attachments = (await deps.attach?.(agent)) ?? [];
  await done.promise;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  Deno.removeSignalListener("SIGHUP", reload);
  for (const a of attachments.reverse()) await a.close().catch(() => {});
  await agent.stop({ cleanup: values.cleanup ?? false });
  return 0;
}

/**
 * Runs one command line and returns the exit code: 0 ok, 1 failure,
 * 2 usage or config error (the config error lists every problem).
 */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  const err = deps.err ?? writeErr;
  const out = deps.out ?? writeOut;
  const [command, ...rest] = argv;
  const extra = deps.commands ?? {};
  try {
    switch (command) {
      case undefined:
      case "help":
      case "--help":
      case "-h": {
        const lines = Object.entries(extra).map(([name, c]) =>
          `  ${name.padEnd(23)}  ${c.summary}`
        ).join("\n");
        out(MAIN_HELP.replace("%EXTRA%", lines ? lines + "\n" : ""));
        return command === undefined ? 2 : 0;
      }
      case "version":
      case "--version":
        out(`edgespan ${deps.version}\n`);
        return 0;
      case "run":
        return await cmdRun(rest, deps);
      case "validate":
        return await cmdValidate(rest, deps);
      case "gen":
        return cmdGen(rest, deps);
      case "get":
        return await cmdGet(rest, deps);
      case "leave":
        return await cmdLeave(rest, deps);
      default: {
        const command_ = extra[command];
        if (command_) return await command_.run(rest);
        const hint = closestName(command, [
          "run",
          "validate",
          "gen",
          "get",
          "version",
          ...Object.keys(extra),
        ]);
        throw new UsageError(
          `Unknown command "${command}"${
            hint ? `; did you mean "${hint}"?` : ""
          }. Run "edgespan --help"`,
        );
      }
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message + "\nNothing was changed.\n");
      return 2;
    }
    if (e instanceof UsageError) {
      err(`${e.message}\n`);
      return 2;
    }
    if (e instanceof IdentityError) {
      err(`${e.message}\n`);
      return 1;
    }
    err(`edgespan: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
