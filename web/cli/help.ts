/**
 * The commands of `edgespan`, their options and help text, in one table:
 * `--help`, `help <command>`, option typo hints, shell completion and the
 * man page are all generated from it.
 *
 * @module
 */

/** One option of a command. */
export interface OptionHelp {
  name: string;
  type: "string" | "boolean";
  short?: string;
  /** Placeholder of a string option's value, e.g. `FILE`. */
  arg?: string;
  /** Fixed values (completion offers them). */
  values?: readonly string[];
  help: string;
}

/** One command. */
export interface CommandHelp {
  name: string;
  /** After `edgespan <name>`, e.g. `<resource> [id|label]`. */
  synopsis: string;
  summary: string;
  /** Paragraphs after the usage line. */
  text: string;
  options: readonly OptionHelp[];
}

const CONFIG: OptionHelp = {
  name: "config",
  type: "string",
  short: "c",
  arg: "FILE",
  help:
    "config file (default $EDGESPAN_CONFIG, else /etc/edgespan/config.yaml)",
};
const API: OptionHelp = {
  name: "api",
  type: "string",
  arg: "URL",
  help:
    "agent API: http://HOST:PORT or unix:/PATH (default $EDGESPAN_API, else api.socket or api.listen of the config, else http://127.0.0.1:7443)",
};
const OUTPUT = (values: readonly string[]): OptionHelp => ({
  name: "output",
  type: "string",
  short: "o",
  arg: "FORMAT",
  values,
  help: `output format: ${values.join(", ")}`,
});

/** Every built-in command. */
export const COMMANDS: readonly CommandHelp[] = [
  {
    name: "run",
    synopsis: "[--config FILE] [--cleanup]",
    summary: "run the agent (SIGHUP reloads the config)",
    text:
      `Runs the agent. SIGHUP re-reads the config; SIGINT/SIGTERM stop it and leave
the mesh in place so traffic survives a restart, unless --cleanup is given,
which removes the link, routes, rules and nftables table on exit.

Plugin switches made at run time ("edgespan plugins enable|disable") are kept
across a config reload and dropped when the agent restarts; "edgespan get
plugins" shows which plugins run on such an override.`,
    options: [CONFIG, {
      name: "cleanup",
      type: "boolean",
      help: "remove the mesh from the kernel on exit",
    }],
  },
  {
    name: "status",
    synopsis: "[-o text|json|yaml] [--api URL | --config FILE]",
    summary: "readiness, discovery connections and every peer, with reasons",
    text:
      `Shows whether the agent is ready and why not, each discovery connection with
since when, "N/M peers up", and one line per peer: state, since when,
endpoint, handshake age, traffic and why a peer is not up.
Exit code 0 when the agent is ready, 1 when it is not or cannot be reached.`,
    options: [OUTPUT(["text", "json", "yaml"]), API, CONFIG],
  },
  {
    name: "validate",
    synopsis: "[--config FILE]",
    summary: "check a config file and print every problem",
    text:
      "Checks the file and prints every problem with its field path (exit 2 if any).",
    options: [CONFIG],
  },
  {
    name: "gen",
    synopsis: "config [--discovery-endpoint URL] [--state-dir DIR]",
    summary: "print a commented starter config with fresh secrets",
    text:
      `Prints a commented starter config with a fresh cluster id and a fresh 32-byte
secret. Copy its cluster section to every box of the site group.`,
    options: [
      {
        name: "discovery-endpoint",
        type: "string",
        arg: "URL",
        help: "discovery service to put in the config",
      },
      {
        name: "state-dir",
        type: "string",
        arg: "DIR",
        help: "absolute node.stateDir to put in the config",
      },
    ],
  },
  {
    name: "get",
    synopsis: "<resource> [id|label] [-o table|yaml|json] [--watch]",
    summary: "show resources of a running agent",
    text:
      `Reads resources from the local API of a running agent. A resource is named by
its id or by its label (peers), hostname (affiliates) or name (plugins).
Tables humanise bytes and ages; yaml and json show raw values with RFC 3339
times. -o json prints one JSON document; with --watch it prints one JSON
event per line (NDJSON): {"kind":"created|updated|deleted","resource":{...}},
the current resources first as "created". --watch reconnects when the agent
restarts (and says so on stderr) and exits 1 when it gives up.`,
    options: [
      OUTPUT(["table", "yaml", "json"]),
      {
        name: "watch",
        type: "boolean",
        short: "w",
        help: "keep printing changes",
      },
      API,
      CONFIG,
    ],
  },
  {
    name: "plugins",
    synopsis: "enable|disable NAME [--api URL | --config FILE]",
    summary: "switch a plugin of the running agent",
    text:
      `Switches a plugin of the running agent, with the API token from the state
directory (<node.stateDir>/api-token, readable by root). The switch is a
run-time override: it is kept across a config reload (SIGHUP) and dropped
when the agent restarts. "edgespan get plugins" shows it in the FROM column.`,
    options: [API, CONFIG, {
      name: "token-file",
      type: "string",
      arg: "FILE",
      help: "API token file (default <node.stateDir>/api-token of the config)",
    }],
  },
  {
    name: "leave",
    synopsis: "[--config FILE]",
    summary: "remove this node from the discovery services",
    text:
      `Removes this node from the discovery services of the config (peers drop it at
once instead of after the 30 min TTL). Stop the agent first, or it publishes
the node again. A box without an identity has nothing to leave; none is
created.`,
    options: [CONFIG],
  },
  {
    name: "completion",
    synopsis: "bash|zsh|fish",
    summary: "print a shell completion script",
    text: `Prints a completion script. For bash:
  edgespan completion bash > /etc/bash_completion.d/edgespan`,
    options: [],
  },
  {
    name: "man",
    synopsis: "",
    summary: "print the man page (roff)",
    text: "Prints edgespan(1) in roff: edgespan man | man -l -",
    options: [],
  },
  {
    name: "version",
    synopsis: "",
    summary: "print the version, commit and build date",
    text: "Prints the version, the commit and the build date of this build.",
    options: [],
  },
];

/** Resource type names, for help and completion. */
export const RESOURCE_NAMES = [
  "identity",
  "affiliates",
  "peerspecs",
  "peerstatuses",
  "endpoints",
  "config",
  "plugins",
] as const;

/** A command by name. */
export function findCommand(name: string): CommandHelp | undefined {
  return COMMANDS.find((c) => c.name === name);
}

function optionLabel(o: OptionHelp): string {
  return `${o.short ? `-${o.short}, ` : ""}--${o.name}${
    o.arg ? ` ${o.arg}` : ""
  }`;
}

/** `edgespan <command> --help`. */
export function commandHelp(c: CommandHelp): string {
  const opts = [...c.options, {
    name: "help",
    type: "boolean",
    short: "h",
    help: "show this help",
  } as OptionHelp];
  const width = Math.max(...opts.map((o) => optionLabel(o).length));
  return `Usage: edgespan ${c.name}${c.synopsis ? ` ${c.synopsis}` : ""}

${c.text}

Options:
${opts.map((o) => `  ${optionLabel(o).padEnd(width)}  ${o.help}`).join("\n")}
`;
}

/** `edgespan --help`; `extra` are commands added outside core. */
export function mainHelp(extra: Record<string, { summary: string }>): string {
  const rows = [
    ...COMMANDS.map((c) => [c.name, c.summary] as const),
    ...Object.entries(extra).map(([n, c]) => [n, c.summary] as const),
  ];
  const width = Math.max(...rows.map(([n]) => n.length));
  return `edgespan — WireGuard full-mesh agent for edge boxes

Usage: edgespan <command> [options]

Commands:
${rows.map(([n, s]) => `  ${n.padEnd(width)}  ${s}`).join("\n")}

Resources: ${RESOURCE_NAMES.join(", ")}
Run "edgespan help <command>" or "edgespan <command> --help" for its options.
`;
}
