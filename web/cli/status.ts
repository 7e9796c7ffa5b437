/**
 * `edgespan status` as text: readiness and why, each discovery connection
 * with since when, `N/M peers up`, then one line per peer with a reason for
 * any peer that is not up. Pure: the answer of `GET /v1/status` in, text out.
 *
 * @module
 */
import type { PeerStatusSpec } from "../../core/resources/specs.ts";
import type { ApiStatus } from "../types.ts";
import { formatAge, formatBytes, peerReason } from "../format.ts";

function table(headers: string[], rows: string[][], indent = "  "): string[] {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => r[i]!.length))
  );
  const line = (cells: string[]) =>
    indent + cells.map((c, i) => c.padEnd(widths[i]!)).join("   ").trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** Renders the status as text. */
export function renderStatus(status: ApiStatus): string {
  const now = Date.parse(status.time);
  const lines: string[] = [];
  lines.push(
    `edgespan ${status.version} on ${status.hostname}: ${
      status.ready ? "ready" : "NOT READY"
    }`,
  );
  for (const [name, check] of Object.entries(status.checks)) {
    if (!check.ok) lines.push(`  ${name}: ${check.detail}`);
  }
  lines.push("");
  lines.push("Discovery:");
  if (status.discovery.length === 0) {
    lines.push("  none (no discovery plugin is running)");
  } else {
    lines.push(...table(
      ["PLUGIN", "STATE", "SINCE", "DETAIL"],
      status.discovery.map((d) => [
        d.name,
        d.state,
        d.since ? `${d.since} (${formatAge(d.since, now)})` : "",
        d.detail,
      ]),
    ));
  }
  lines.push("");
  lines.push(`Peers: ${status.peers.up}/${status.peers.total} up`);
  if (status.items.length > 0) {
    const specs = status.items.map((r) => r.spec as PeerStatusSpec).sort((
      a,
      b,
    ) => a.label.localeCompare(b.label));
    const withPath = specs.some((s) => typeof pathOf(s) === "string");
    const headers = [
      "LABEL",
      "STATE",
      "SINCE",
      "ENDPOINT",
      ...(withPath ? ["PATH"] : []),
      "HANDSHAKE",
      "RX",
      "TX",
      "REASON",
    ];
    const rows = specs.map((s) => [
      s.label,
      s.state,
      s.stateSince ? formatAge(s.stateSince, now) : "",
      s.endpoint,
      ...(withPath ? [pathOf(s) ?? ""] : []),
      formatAge(s.lastHandshakeTime, now),
      formatBytes(s.receiveBytes),
      formatBytes(s.transmitBytes),
      peerReason(s, now),
    ]);
    lines.push(...table(headers, rows));
  }
  return lines.join("\n") + "\n";
}

function pathOf(s: PeerStatusSpec): string | undefined {
  const p = (s as unknown as Record<string, unknown>).path;
  return typeof p === "string" && p !== "" ? p : undefined;
}
