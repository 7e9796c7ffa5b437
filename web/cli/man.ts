/**
 * edgespan(1) in roff, generated from the same command table as `--help`.
 *
 * @module
 */
import { COMMANDS, type OptionHelp, RESOURCE_NAMES } from "./help.ts";

function esc(text: string): string {
  return text.replaceAll("\\", "\\e").replaceAll("-", "\\-").split("\n").map((
    l,
  ) => (/^[.']/.test(l) ? `\\&${l}` : l)).join("\n");
}

function option(o: OptionHelp): string {
  const label = `${o.short ? `\\fB\\-${o.short}\\fR, ` : ""}\\fB\\-\\-${
    esc(o.name)
  }\\fR${o.arg ? ` \\fI${o.arg}\\fR` : ""}`;
  return `.TP\n${label}\n${esc(o.help)}`;
}

/** The man page; `extra` are commands added outside core. */
export function manPage(
  version: string,
  extra: Record<string, { summary: string }> = {},
): string {
  const sections = COMMANDS.map((c) =>
    [
      `.SS "edgespan ${c.name}${c.synopsis ? ` ${esc(c.synopsis)}` : ""}"`,
      esc(c.text).replaceAll("\n\n", "\n.PP\n"),
      ...c.options.map(option),
    ].join("\n")
  );
  const others = Object.entries(extra).map(([n, c]) =>
    `.SS "edgespan ${n}"\n${esc(c.summary)}`
  );
  return `.TH EDGESPAN 1 "" "edgespan ${esc(version)}" "User Commands"
.SH NAME
edgespan \\- WireGuard full\\-mesh agent for edge boxes
.SH SYNOPSIS
.B edgespan
\\fIcommand\\fR [\\fIoptions\\fR]
.SH DESCRIPTION
edgespan builds a WireGuard full mesh between the boxes of a site group, as
KubeSpan does, and finds peers through discovery services.
Resources shown by \\fBedgespan get\\fR: ${RESOURCE_NAMES.join(", ")}.
.SH COMMANDS
${[...sections, ...others].join("\n")}
.SH ENVIRONMENT
.TP
.B EDGESPAN_CONFIG
config file used when \\fB\\-\\-config\\fR is not given (default /etc/edgespan/config.yaml)
.TP
.B EDGESPAN_API
agent API used when neither \\fB\\-\\-api\\fR nor \\fB\\-\\-config\\fR is given
.SH EXIT STATUS
0 success; 1 failure (for \\fBstatus\\fR: the agent is not ready); 2 a usage or config error.
`;
}
