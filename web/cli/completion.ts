/**
 * Shell completion scripts for bash, zsh and fish, generated from the
 * command table of `help.ts` (commands, their options, option values and
 * resource types).
 *
 * @module
 */
import { COMMANDS, RESOURCE_NAMES } from "./help.ts";

/** The shells {@linkcode completionScript} writes for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

function flags(name: string): string[] {
  const c = COMMANDS.find((c) => c.name === name)!;
  return [
    ...c.options.flatMap((o) => [
      `--${o.name}`,
      ...(o.short ? [`-${o.short}`] : []),
    ]),
    "--help",
  ];
}

function bash(commands: string[]): string {
  const cases = COMMANDS.map((c) => {
    const words = [
      ...flags(c.name),
      ...(c.name === "get" ? RESOURCE_NAMES : []),
      ...(c.name === "gen" ? ["config"] : []),
      ...(c.name === "plugins" ? ["enable", "disable"] : []),
      ...(c.name === "completion" ? ["bash", "zsh", "fish"] : []),
    ];
    return `    ${c.name}) words="${words.join(" ")}" ;;`;
  }).join("\n");
  const outputs = COMMANDS.flatMap((c) =>
    c.options.filter((o) => o.values).map((o) =>
      `  if [[ "$prev" == "-o" || "$prev" == "--output" ]] && [[ "\${COMP_WORDS[1]}" == "${c.name}" ]]; then COMPREPLY=($(compgen -W "${
        o.values!.join(" ")
      }" -- "$cur")); return; fi`
    )
  ).join("\n");
  return `# bash completion for edgespan (edgespan completion bash)
_edgespan() {
  local cur prev words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [[ "$prev" == "--config" || "$prev" == "-c" || "$prev" == "--token-file" ]]; then
    COMPREPLY=($(compgen -f -- "$cur")); return
  fi
${outputs}
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${commands.join(" ")} help" -- "$cur")); return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
    help) words="${commands.join(" ")}" ;;
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _edgespan edgespan
`;
}

function zsh(commands: string[]): string {
  return `#compdef edgespan
# zsh completion for edgespan (edgespan completion zsh)
_edgespan() {
  local -a commands
  commands=(
${
    COMMANDS.map((c) => `    '${c.name}:${c.summary.replaceAll("'", "")}'`)
      .join("\n")
  }
${
    commands.filter((n) => !COMMANDS.some((c) => c.name === n)).map((n) =>
      `    '${n}'`
    ).join("\n")
  }
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case "$words[2]" in
${
    COMMANDS.map((c) =>
      `    ${c.name}) compadd -- ${
        [
          ...flags(c.name),
          ...(c.name === "get" ? RESOURCE_NAMES : []),
          ...(c.name === "gen" ? ["config"] : []),
          ...(c.name === "plugins" ? ["enable", "disable"] : []),
          ...(c.name === "completion" ? ["bash", "zsh", "fish"] : []),
        ].join(" ")
      } ;;`
    ).join("\n")
  }
  esac
}
compdef _edgespan edgespan
`;
}

function fish(commands: string[]): string {
  const lines = [
    "# fish completion for edgespan (edgespan completion fish)",
    "complete -c edgespan -f",
    ...COMMANDS.map((c) =>
      `complete -c edgespan -n __fish_use_subcommand -a ${c.name} -d '${
        c.summary.replaceAll("'", "")
      }'`
    ),
    ...commands.filter((n) => !COMMANDS.some((c) => c.name === n)).map((n) =>
      `complete -c edgespan -n __fish_use_subcommand -a ${n}`
    ),
    ...COMMANDS.flatMap((c) =>
      c.options.map((o) =>
        `complete -c edgespan -n '__fish_seen_subcommand_from ${c.name}' -l ${o.name}${
          o.short ? ` -s ${o.short}` : ""
        }${o.type === "string" ? " -r" : ""}${
          o.values ? ` -a '${o.values.join(" ")}'` : ""
        } -d '${o.help.replaceAll("'", "")}'`
      )
    ),
    `complete -c edgespan -n '__fish_seen_subcommand_from get' -a '${
      RESOURCE_NAMES.join(" ")
    }'`,
    `complete -c edgespan -n '__fish_seen_subcommand_from plugins' -a 'enable disable'`,
    `complete -c edgespan -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'`,
  ];
  return lines.join("\n") + "\n";
}

/** The completion script for `shell`; `extra` are commands added outside core. */
export function completionScript(
  shell: (typeof SHELLS)[number],
  extra: readonly string[],
): string {
  const commands = [...COMMANDS.map((c) => c.name), ...extra];
  switch (shell) {
    case "bash":
      return bash(commands);
    case "zsh":
      return zsh(commands);
    case "fish":
      return fish(commands);
  }
}
