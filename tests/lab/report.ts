/**
 * What a lab run measured, and its table (text for the terminal, Markdown
 * and JSON for `.cache/lab/`). Pure.
 *
 * @module
 */
import type { LabMode } from "./modes.ts";

/** One box pair after a scenario. */
export interface PairResult {
  a: string;
  b: string;
  /** The routers allow no direct path for this pair (a relay is needed). */
  noDirectPath: boolean;
  /** Both ends saw each other `up` when the mesh phase ended. */
  up: boolean;
  /** Milliseconds from "every agent answers" until both ends saw `up`. */
  upAfterMs?: number;
  /** How the pair talks: `LAN`, `WAN`, `IPv6`, or both views joined by `/`. */
  path?: string;
  /** The endpoint each end's WireGuard used for the other. */
  endpoints?: { ab: string; ba: string };
  /** Milliseconds after the event until pings crossed the tunnel both ways. */
  recoveredMs?: number;
  /**
   * The pair is up through a relay: the relay's label (both ends' views
   * joined by `/` when they differ).
   */
  relay?: string;
}

/** The mid-run event and the recovery it was followed by. */
export interface EventResult {
  kind: "rebind" | "renumber";
  sites: string[];
  /** Not run because the mesh never became full. */
  skipped: boolean;
  /** Milliseconds until every pair had recovered; absent when not all did. */
  recoverMs?: number;
  recoverLimitMs: number;
}

/** One scenario in one mode. */
export interface ScenarioResult {
  scenario: string;
  title: string;
  mode: LabMode;
  /** The random suffix of every namespace and link of the run. */
  suffix: string;
  pairs: PairResult[];
  /** Milliseconds until every pair was up; absent when that never happened. */
  fullMeshMs?: number;
  meshLimitMs: number;
  event?: EventResult;
  /** The lab itself failed (set-up error); the figures are then empty. */
  error?: string;
}

/** One row of the table. */
export interface TableRow {
  scenario: string;
  mode: LabMode;
  pairsUp: string;
  fullMesh: string;
  recover: string;
  direct: string;
  relayed: string;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Summarises which pairs are direct (and how) and which are not. */
export function directCell(r: ScenarioResult): string {
  if (r.error) return `lab error: ${r.error}`;
  const paths = new Map<string, number>();
  for (const p of r.pairs) {
    if (p.up && !p.relay) {
      paths.set(p.path ?? "?", (paths.get(p.path ?? "?") ?? 0) + 1);
    }
  }
  const parts: string[] = [];
  if (paths.size > 0) {
    parts.push(
      `direct: ${[...paths].map(([k, n]) => `${n} ${k}`).join(", ")}`,
    );
  }
  const noPath = r.pairs.filter((p) => !p.up && p.noDirectPath);
  const down = r.pairs.filter((p) => !p.up && !p.noDirectPath);
  if (noPath.length > 0) {
    parts.push(
      `no direct path: ${
        noPath.map((p) => `${p.a}–${p.b}`).join(", ")
      } (relay needed)`,
    );
  }
  if (down.length > 0) {
    parts.push(`not up: ${down.map((p) => `${p.a}–${p.b}`).join(", ")}`);
  }
  const upAnyway = r.pairs.filter((p) => p.up && !p.relay && p.noDirectPath);
  if (upAnyway.length > 0) {
    parts.push(
      `up although marked without direct path: ${
        upAnyway.map((p) => `${p.a}–${p.b}`).join(", ")
      }`,
    );
  }
  return parts.join("; ") || "—";
}

/** Which up pairs go through a relay, and through which. */
export function relayedCell(r: ScenarioResult): string {
  if (r.error) return "—";
  const relayed = r.pairs.filter((p) => p.up && p.relay);
  if (relayed.length === 0) return "—";
  return `${relayed.length}: ${
    relayed.map((p) => `${p.a}–${p.b} via ${p.relay}`).join(", ")
  }`;
}

/** The table row of one result. */
export function tableRow(r: ScenarioResult): TableRow {
  const up = r.pairs.filter((p) => p.up).length;
  let recover = "—";
  if (r.event) {
    const e = r.event;
    recover = e.skipped
      ? `not run (mesh not full)`
      : e.recoverMs !== undefined
      ? seconds(e.recoverMs)
      : `not within ${seconds(e.recoverLimitMs)} (no traffic: ${
        r.pairs.filter((p) => p.recoveredMs === undefined)
          .map((p) => `${p.a}–${p.b}`).join(", ")
      })`;
  }
  return {
    scenario: `${r.scenario}. ${r.title}`,
    mode: r.mode,
    pairsUp: r.error ? "—" : `${up}/${r.pairs.length}`,
    fullMesh: r.error
      ? "—"
      : r.fullMeshMs !== undefined
      ? seconds(r.fullMeshMs)
      : `never (limit ${seconds(r.meshLimitMs)})`,
    recover,
    direct: directCell(r),
    relayed: relayedCell(r),
  };
}

const HEADER = [
  "scenario",
  "mode",
  "pairs up / total",
  "time to full mesh",
  "time to recover (9, 10)",
  "direct or not",
  "relayed",
];

function cells(row: TableRow): string[] {
  return [
    row.scenario,
    row.mode,
    row.pairsUp,
    row.fullMesh,
    row.recover,
    row.direct,
    row.relayed,
  ];
}

/** The table as Markdown. */
export function renderMarkdown(results: readonly ScenarioResult[]): string {
  const lines = [
    `| ${HEADER.join(" | ")} |`,
    `|${HEADER.map(() => "---").join("|")}|`,
    ...results.map((r) => `| ${cells(tableRow(r)).join(" | ")} |`),
  ];
  return lines.join("\n") + "\n";
}

/** The table as aligned text for a terminal. */
export function renderText(results: readonly ScenarioResult[]): string {
  const rows = [HEADER, ...results.map((r) => cells(tableRow(r)))];
  const widths = HEADER.map((_, i) =>
    Math.max(...rows.map((row) => [...row[i]!].length))
  );
  return rows.map((row) =>
    row.map((c, i) => c + " ".repeat(widths[i]! - [...c].length)).join("  ")
      .trimEnd()
  ).join("\n") + "\n";
}

/** The JSON document written beside the Markdown table. */
export function renderJson(
  results: readonly ScenarioResult[],
  meta: Record<string, unknown>,
): string {
  return JSON.stringify(
    { ...meta, rows: results.map(tableRow), results },
    null,
    2,
  ) + "\n";
}
