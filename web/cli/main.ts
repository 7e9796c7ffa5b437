/**
 * The `edgespan` command line. Every dependency that is not core (HTTP
 * client, API server, discovery server, kernel mesh step) is injected by
 * the composition root, so this face depends on the core alone.
 *
 * @module
 */
import {
  type OptionSpecs,
  parseArgs,
  type ParsedArgs,
} from "../../core/args/parse_args.ts";
import { Agent, type AgentOptions, type Attachment } from "../../core/agent.ts";
import type { MeshStep } from "../../core/mesh/types.ts";
import { ConfigError, loadConfig } from "../../core/config/load.ts";
import type { EdgespanConfig } from "../../core/config/types.ts";
import { renderStarterConfig } from "../../core/config/starter.ts";
import { IdentityError } from "../../core/identity/store.ts";
import { knownPlugins } from "../../core/plugins/registry.ts";
import { loadSitePlugins } from "../../core/plugins/site.ts";
import type { AnyPluginDefinition } from "../../core/plugins/types.ts";
import { RESOURCE_DEFINITIONS } from "../../core/resources/definitions.ts";
import type {
  Resource,
  ResourceDefinition,
  ResourceEvent,
} from "../../core/resources/store.ts";
import { closestName } from "../../core/config/did_you_mean.ts";
import { IDENTITY_FILE, NODE_ID_FILE } from "../../core/identity/store.ts";
import {
  type OutputFormat,
  renderEventLine,
  renderResources,
} from "./output.ts";
import { configPath, resolveApiBase, type TargetEnv } from "./api_target.ts";
import {
  type CommandHelp,
  commandHelp,
  COMMANDS,
  findCommand,
  mainHelp,
} from "./help.ts";
import { renderStatus } from "./status.ts";
import { completionScript, SHELLS } from "./completion.ts";
import { manPage } from "./man.ts";
import type { ApiStatus } from "../types.ts";
import { stringify } from "yaml";

/** Reads resources from a running agent. */
export interface ResourceClient {
  list(apiBase: string, type: string): Promise<Resource[]>;
  get(apiBase: string, type: string, id: string): Promise<Resource | undefined>;
  watch(
    apiBase: string,
    type: string,
    signal: AbortSignal,
  ): AsyncIterable<ResourceEvent>;
  /** `GET /v1/status`. */
  status?(apiBase: string): Promise<ApiStatus>;
  /** A mutating call with the bearer token (`/v1/plugins/NAME/enable`). */
  action?(apiBase: string, path: string, token: string): Promise<unknown>;
  /** Releases connections (unix socket clients). */
  close?(): void;
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
  /** Environment and file checks for the default config and API. @default the process's */
  target?: TargetEnv;
  /** Commit and build date, printed by `version`. @default unknown */
  build?: { commit: string; date: string };
  /**
   * How SIGHUP reloads the running agent (e.g. between systemd's
   * RELOADING=1 and READY=1). @default `agent.reload()`
   */
  reload?: (agent: Agent) => Promise<void>;
  /** Reconnects of `get --watch`. @default 10 tries, 1 s apart doubling to 10 s */
  watchRetry?: { tries: number; delayMs: number; maxDelayMs: number };
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

const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const;

function optionConfig(c: CommandHelp): OptionSpecs {
  const out: OptionSpecs = {};
  for (const o of c.options) {
    out[o.name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
  }
  return out;
}

/** Parses a command's arguments; an unknown option gets the closest known one as a hint. */
function parse(args: string[], name: string) {
  const command = findCommand(name)!;
  try {
    return parseArgs({
      args,
      options: { ...optionConfig(command), ...HELP_OPTION },
      allowPositionals: true,
    }) as ParsedArgs;
  } catch (e) {
    const message = (e as Error).message;
    const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec(message);
    if (unknown) {
      const flag = unknown[1]!;
      const hint = closestName(
        flag.replace(/^-+/, ""),
        [...command.options.map((o) => o.name), "help"],
      );
      throw new UsageError(
        `Unknown option "${flag}" for "edgespan ${name}"${
          hint ? `: did you mean "--${hint}"?` : ""
        } (see "edgespan help ${name}")`,
      );
    }
    throw new UsageError(
      message.replace(/\. To specify a positional.*$/s, "").replace(/\.$/, ""),
    );
  }
}

const str = (v: string | boolean | undefined) =>
  typeof v === "string" ? v : undefined;

/** The config file of a command that needs one, or a usage error saying how to give it. */
function needConfig(given: string | undefined, deps: CliDeps): string {
  const file = configPath(given, deps.target);
  if (!file) {
    throw new UsageError(
      "Missing --config FILE: no $EDGESPAN_CONFIG and no /etc/edgespan/config.yaml (create one with `edgespan gen config > config.yaml`)",
    );
  }
  return file;
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

function help(name: string, deps: CliDeps): number {
  (deps.out ?? writeOut)(commandHelp(findCommand(name)!));
  return 0;
}

function outputFormat<F extends string>(
  value: string | boolean | undefined,
  allowed: readonly F[],
): F {
  const format = (str(value) ?? allowed[0]) as F;
  if (!allowed.includes(format)) {
    throw new UsageError(
      `Unknown output format "${value}": use ${
        allowed.slice(0, -1).join(", ")
      } or ${allowed.at(-1)}`,
    );
  }
  return format;
}

function needClient(deps: CliDeps): ResourceClient {
  if (!deps.resources) throw new UsageError("This build has no API client");
  return deps.resources;
}

/** `get plugins` as a table: KubeSpan-style columns plus where the switch comes from. */
const PLUGIN_TABLE: ResourceDefinition = {
  ...RESOURCE_DEFINITIONS.find((d) => d.type === "plugins")!,
  columns: [
    ...RESOURCE_DEFINITIONS.find((d) => d.type === "plugins")!.columns,
    { header: "FROM", field: "from" },
    { header: "SOURCE", field: "source", optional: true },
  ],
};

/**
 * Says where each plugin's switch comes from: `config` (a `plugins:`
 * entry), `default` (none), or `override` (a run-time switch that differs
 * from both, made with `edgespan plugins enable|disable`).
 */
export function pluginOrigins(
  items: readonly Resource[],
  config: EdgespanConfig | undefined,
  defs: readonly AnyPluginDefinition[],
): Resource[] {
  return items.map((r) => {
    const spec = r.spec as { name?: string; enabled?: boolean };
    const def = defs.find((d) => d.name === (spec.name ?? r.id));
    const entry = config?.plugins?.[r.id]?.enabled;
    const expected = entry ?? def?.defaultEnabled;
    const from = expected !== undefined && expected !== spec.enabled
      ? "override"
      : entry !== undefined
      ? "config"
      : "default";
    return { ...r, spec: { ...spec, from } };
  });
}

/** The fields a resource may be named by besides its id. */
const NAME_FIELDS = ["label", "hostname", "nodename", "name", "nodeId"];

/**
 * A resource by id, else by label (peers), hostname (affiliates) or name
 * (plugins); an ambiguous name is an error listing the ids.
 */
async function findResource(
  client: ResourceClient,
  base: string,
  type: string,
  name: string,
): Promise<Resource | undefined> {
  const one = await client.get(base, type, name);
  if (one) return one;
  const matches = (await client.list(base, type)).filter((r) => {
    const spec = r.spec as Record<string, unknown> | null;
    return NAME_FIELDS.some((f) => spec?.[f] === name);
  });
  if (matches.length > 1) {
    throw new UsageError(
      `"${name}" names ${matches.length} ${type} resources: give the id, one of ${
        matches.map((r) => r.id).join(", ")
      }`,
    );
  }
  return matches[0];
}

async function cmdGet(args: string[], deps: CliDeps): Promise<number> {
  const { values, positionals } = parse(args, "get");
  const out = deps.out ?? writeOut;
  const err = deps.err ?? writeErr;
  if (values.help) return help("get", deps);
  const format: OutputFormat = outputFormat(values.output, [
    "table",
    "yaml",
    "json",
  ]);
  const def = resolveType(positionals[0]);
  const name = positionals[1];
  const client = needClient(deps);
  const base = await resolveApiBase(
    { api: str(values.api), config: str(values.config) },
    deps.plugins,
    deps.target,
  );
  const watching = values.watch === true;
  const tableDef = def.type === "plugins" && format === "table"
    ? PLUGIN_TABLE
    : def;
  const withOrigin = async (items: Resource[]) =>
    tableDef === PLUGIN_TABLE
      ? pluginOrigins(
        items,
        (await client.get(base, "config", "kubespan"))?.spec as
          | EdgespanConfig
          | undefined,
        deps.plugins,
      )
      : items;
  const show = async (items: Resource[], single: boolean) => {
    if (watching && format === "json") {
      for (const r of items) out(renderEventLine("created", r));
    } else {
      out(
        renderResources(tableDef, await withOrigin(items), format, Date.now(), {
          single,
        }),
      );
    }
  };
  let id: string | undefined;
  if (name !== undefined) {
    const one = await findResource(client, base, def.type, name);
    if (!one) {
      err(
        `No ${def.type} resource with id or name "${name}": list them with "edgespan get ${def.type}"\n`,
      );
      return 1;
    }
    id = one.id;
    await show([one], true);
  } else {
    await show(await client.list(base, def.type), false);
  }
  if (!watching) return 0;
  return await watchLoop(client, base, def, id, format, deps);
}

/** Prints changes until SIGINT; reconnects after losing the agent and exits 1 when it gives up. */
async function watchLoop(
  client: ResourceClient,
  base: string,
  def: ResourceDefinition,
  id: string | undefined,
  format: OutputFormat,
  deps: CliDeps,
): Promise<number> {
  const out = deps.out ?? writeOut;
  const err = deps.err ?? writeErr;
  const retry = deps.watchRetry ??
    { tries: 10, delayMs: 1000, maxDelayMs: 10_000 };
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  const print = (event: ResourceEvent) => {
    if (id !== undefined && event.resource.id !== id) return;
    if (format === "json") out(renderEventLine(event.kind, event.resource));
    else if (format === "table") {
      out(
        `${event.kind.toUpperCase()} ` +
          renderResources(def, [event.resource], "table", Date.now()).split(
            "\n",
          )[1] + "\n",
      );
    } else {
      out(
        `# ${event.kind}\n` +
          renderResources(def, [event.resource], "yaml", Date.now()),
      );
    }
  };
  try {
    let failures = 0;
    let lost = false;
    while (!abort.signal.aborted) {
      let why = "the stream ended";
      try {
        if (lost) {
          // Back again: say so, and show what changed while we were away.
          const items = await client.list(base, def.type);
          err(`reconnected to the agent at ${base}\n`);
          lost = false;
          for (const r of items) print({ kind: "updated", resource: r });
        }
        for await (const event of client.watch(base, def.type, abort.signal)) {
          failures = 0;
          print(event);
        }
      } catch (e) {
        why = e instanceof Error ? e.message : String(e);
      }
      if (abort.signal.aborted) break;
      failures++;
      if (failures > retry.tries) {
        err(
          `Gave up watching ${def.type}: the agent at ${base} did not come back after ${retry.tries} tries (${why})\n`,
        );
        return 1;
      }
      const delay = Math.min(
        retry.maxDelayMs,
        retry.delayMs * 2 ** (failures - 1),
      );
      if (!lost) {
        err(
          `lost the agent at ${base} (${why}); reconnecting (up to ${retry.tries} tries)\n`,
        );
      }
      lost = true;
      await abortableDelay(delay, abort.signal);
    }
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

async function cmdStatus(args: string[], deps: CliDeps): Promise<number> {
  const { values } = parse(args, "status");
  if (values.help) return help("status", deps);
  const format = outputFormat(values.output, ["text", "json", "yaml"]);
  const client = needClient(deps);
  if (!client.status) throw new UsageError("This build has no status client");
  const base = await resolveApiBase(
    { api: str(values.api), config: str(values.config) },
    deps.plugins,
    deps.target,
  );
  const status = await client.status(base);
  const out = deps.out ?? writeOut;
  if (format === "json") out(JSON.stringify(status, null, 2) + "\n");
  else if (format === "yaml") out(stringify(status));
  else out(renderStatus(status));
  return status.ready ? 0 : 1;
}

async function cmdPlugins(args: string[], deps: CliDeps): Promise<number> {
  const { values, positionals } = parse(args, "plugins");
  if (values.help) return help("plugins", deps);
  const [action, name] = positionals;
  if (action !== "enable" && action !== "disable") {
    throw new UsageError(
      action === undefined
        ? 'Missing the action: use "edgespan plugins enable NAME" or "edgespan plugins disable NAME"'
        : `Unknown plugins action "${action}": use enable or disable`,
    );
  }
  const names = deps.plugins.map((p) => p.name);
  if (!name) {
    throw new UsageError(
      `Missing the plugin name: one of ${names.join(", ")}`,
    );
  }
  const client = needClient(deps);
  if (!client.action) throw new UsageError("This build has no API client");
  const file = str(values.config) ?? configPath(undefined, deps.target);
  let tokenFile = str(values["token-file"]);
  let config: EdgespanConfig | undefined;
  if (!tokenFile) {
    if (!file) {
      throw new UsageError(
        "Missing --config FILE or --token-file FILE: the API token is in <node.stateDir>/api-token",
      );
    }
    config = await loadConfig(file, { plugins: knownPlugins(deps.plugins) });
    tokenFile = `${config.node.stateDir}/api-token`;
  }
  let token: string;
  try {
    token = (await Deno.readTextFile(tokenFile)).trim();
  } catch (e) {
    throw new UsageError(
      `Cannot read the API token "${tokenFile}": ${
        e instanceof Deno.errors.PermissionDenied
          ? "permission denied; run as root or as the agent's user"
          : e instanceof Deno.errors.NotFound
          ? "no such file; is the agent running with this config?"
          : (e as Error).message
      }`,
    );
  }
  const base = await resolveApiBase(
    { api: str(values.api), config: file },
    deps.plugins,
    deps.target,
  );
  await client.action(
    base,
    `/v1/plugins/${encodeURIComponent(name)}/${action}`,
    token,
  );
  (deps.out ?? writeOut)(
    `${name} ${action}d (a run-time override: kept across reloads, dropped on restart)\n`,
  );
  return 0;
}

function cmdGen(args: string[], deps: CliDeps): number {
  const { values, positionals } = parse(args, "gen");
  const out = deps.out ?? writeOut;
  if (values.help) return help("gen", deps);
  if (positionals[0] !== "config") {
    throw new UsageError(
      positionals[0] === undefined
        ? 'Missing what to generate: use "edgespan gen config"'
        : `Cannot generate "${positionals[0]}": only "config" is supported`,
    );
  }
  const stateDir = str(values["state-dir"]);
  if (stateDir !== undefined && !stateDir.startsWith("/")) {
    throw new UsageError(
      `The --state-dir "${stateDir}" is not an absolute path: give the full path, e.g. /var/lib/edgespan`,
    );
  }
  const endpoint = str(values["discovery-endpoint"]);
  out(renderStarterConfig({
    ...(endpoint ? { discoveryEndpoint: endpoint } : {}),
    ...(stateDir ? { stateDir } : {}),
  }));
  return 0;
}

async function cmdValidate(args: string[], deps: CliDeps): Promise<number> {
  const { values } = parse(args, "validate");
  const out = deps.out ?? writeOut;
  if (values.help) return help("validate", deps);
  const file = needConfig(str(values.config), deps);
  const config = await loadConfig(file, {
    plugins: knownPlugins(deps.plugins),
  });
  // Site plugins are loaded in their sandbox: file, API version, options.
  await loadSitePlugins(deps.agentOptions?.sitePlugins, config, file);
  out(`${file}: ok\n`);
  return 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function cmdLeave(args: string[], deps: CliDeps): Promise<number> {
  const { values } = parse(args, "leave");
  const out = deps.out ?? writeOut;
  if (values.help) return help("leave", deps);
  const file = needConfig(str(values.config), deps);
  const config = await loadConfig(file, {
    plugins: knownPlugins(deps.plugins),
  });
  const dir = config.node.stateDir;
  // No identity means nothing was ever published: do not create one.
  if (
    !(await exists(`${dir}/${IDENTITY_FILE}`)) ||
    !(await exists(`${dir}/${NODE_ID_FILE}`))
  ) {
    out(
      `this node has no identity in ${dir}; it never joined, so there is nothing to leave\n`,
    );
    return 0;
  }
  const agent = await Agent.start({
    configPath: file,
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
  const { values } = parse(args, "run");
  const out = deps.out ?? writeOut;
  if (values.help) return help("run", deps);
  const file = needConfig(str(values.config), deps);
  let mesh: MeshStep | undefined;
  const wake = (reason: string) => {
    try {
      agent.requestReconcile(reason);
    } catch {
      // still starting: the first pass is running and reads the kernel anyway
    }
  };
  const agent = await Agent.start({
    configPath: file,
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
          peers: async () => (await mesh?.peers?.()) ?? [],
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
    (deps.reload ?? ((a: Agent) => a.reload()))(agent).catch((e) =>
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
      `  api         http://${agent.config.api.listen}${
        agent.config.api.socket ? ` and unix:${agent.config.api.socket}` : ""
      }\n`,
  );
  const attachments = (await deps.attach?.(agent)) ?? [];
  await done.promise;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  Deno.removeSignalListener("SIGHUP", reload);
  for (const a of attachments.reverse()) await a.close().catch(() => {});
  await agent.stop({ cleanup: values.cleanup === true });
  return 0;
}

/** The version line: version, commit and build date. */
function versionLine(deps: CliDeps): string {
  const b = deps.build ?? { commit: "unknown", date: "unknown" };
  return `edgespan ${deps.version} (commit ${b.commit}, built ${b.date})\n`;
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
  const known = [...COMMANDS.map((c) => c.name), ...Object.keys(extra)];
  try {
    switch (command) {
      case undefined:
      case "help":
      case "--help":
      case "-h": {
        const topic = command === "help" ? rest[0] : undefined;
        if (topic !== undefined) {
          if (findCommand(topic)) return help(topic, deps);
          if (extra[topic]) return await extra[topic].run(["--help"]);
          throw unknownCommand(topic, known);
        }
        out(mainHelp(extra));
        return command === undefined ? 2 : 0;
      }
      case "version":
      case "--version":
        out(versionLine(deps));
        return 0;
      case "run":
        return await cmdRun(rest, deps);
      case "status":
        return await cmdStatus(rest, deps);
      case "validate":
        return await cmdValidate(rest, deps);
      case "gen":
        return cmdGen(rest, deps);
      case "get":
        return await cmdGet(rest, deps);
      case "plugins":
        return await cmdPlugins(rest, deps);
      case "leave":
        return await cmdLeave(rest, deps);
      case "completion": {
        const { values, positionals } = parse(rest, "completion");
        if (values.help) return help("completion", deps);
        const shell = SHELLS.find((sh) => sh === positionals[0]);
        if (!shell) {
          throw new UsageError(
            positionals[0] === undefined
              ? 'Missing the shell: use "edgespan completion bash", "zsh" or "fish"'
              : `No completion for shell "${
                positionals[0]
              }": use bash, zsh or fish`,
          );
        }
        out(completionScript(shell, Object.keys(extra)));
        return 0;
      }
      case "man": {
        const { values } = parse(rest, "man");
        if (values.help) return help("man", deps);
        out(manPage(deps.version, extra));
        return 0;
      }
      default: {
        const command_ = extra[command];
        if (command_) return await command_.run(rest);
        throw unknownCommand(command, known);
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
  } finally {
    deps.resources?.close?.();
  }
}

function unknownCommand(name: string, known: readonly string[]): UsageError {
  const hint = closestName(name, known);
  return new UsageError(
    `Unknown command "${name}"${
      hint ? `: did you mean "${hint}"?` : ""
    } Run "edgespan --help" for the list`,
  );
}
