/**
 * Request counters and the Prometheus text of the discovery service.
 *
 * @module
 */
import type { StateStats } from "./store.ts";

/** Counts requests by method and gRPC status code name. */
export class RequestCounters {
  readonly #counts = new Map<string, number>();

  /** Counts one finished request. */
  count(method: string, code: string): void {
    const key = `${method}\u0000${code}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  /** `[method, code, count]` rows, sorted. */
  rows(): [string, string, number][] {
    return [...this.#counts]
      .map(([k, n]) => {
        const [m, c] = k.split("\u0000") as [string, string];
        return [m, c, n] as [string, string, number];
      })
      .sort((a, b) => (a[0] + a[1]).localeCompare(b[0] + b[1]));
  }
}

/** Renders the Prometheus exposition text. */
export function renderMetrics(
  stats: StateStats,
  counters: RequestCounters,
  storeLines: readonly string[] = [],
): string {
  const lines = [
    "# HELP edgespan_discovery_clusters Clusters held in memory.",
    "# TYPE edgespan_discovery_clusters gauge",
    `edgespan_discovery_clusters ${stats.clusters}`,
    "# HELP edgespan_discovery_affiliates Affiliates over all clusters.",
    "# TYPE edgespan_discovery_affiliates gauge",
    `edgespan_discovery_affiliates ${stats.affiliates}`,
    "# HELP edgespan_discovery_watchers Open Watch streams.",
    "# TYPE edgespan_discovery_watchers gauge",
    `edgespan_discovery_watchers ${stats.watchers}`,
    "# HELP edgespan_discovery_requests_total Finished requests by method and gRPC code.",
    "# TYPE edgespan_discovery_requests_total counter",
  ];
  // Each family's samples right after its TYPE line (the text format wants
  // a family's lines together).
  for (const [method, code, n] of counters.rows()) {
    lines.push(
      `edgespan_discovery_requests_total{method="${method}",code="${code}"} ${n}`,
    );
  }
  const mem = Deno.memoryUsage();
  lines.push(
    "# HELP edgespan_discovery_memory_bytes Process memory by kind.",
    "# TYPE edgespan_discovery_memory_bytes gauge",
    `edgespan_discovery_memory_bytes{kind="rss"} ${mem.rss}`,
    `edgespan_discovery_memory_bytes{kind="heap_used"} ${mem.heapUsed}`,
    `edgespan_discovery_memory_bytes{kind="external"} ${mem.external}`,
  );
  lines.push(...storeLines);
  return lines.join("\n") + "\n";
}
