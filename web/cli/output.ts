/**
 * Resource output for the CLI: tables with KubeSpan's print columns (bytes and
 * ages humanised), YAML and JSON (raw values).
 *
 * @module
 */
import { stringify } from "yaml";
import type {
  Column,
  Resource,
  ResourceDefinition,
} from "../../core/resources/store.ts";
import { formatAge, formatBytes } from "../format.ts";

/** Output formats of `edgespan get`. */
export type OutputFormat = "table" | "yaml" | "json";

function field(resource: Resource, path: string): unknown {
  if (path === "id") return resource.id;
  if (path === "version") return resource.version;
  let node: unknown = resource.spec;
  for (const part of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function cell(resource: Resource, column: Column, now: number): string {
  const value = field(resource, column.field);
  if (column.format === "flag") {
    return value === undefined || value === null || value === false
      ? "no"
      : "yes";
  }
  if (value === undefined || value === null) return "";
  switch (column.format) {
    case "bytes":
      return typeof value === "number" ? formatBytes(value) : String(value);
    case "age":
      return formatAge(String(value), now);
    case "list":
      return Array.isArray(value) ? JSON.stringify(value) : String(value);
    default:
      return Array.isArray(value) ? value.join(",") : String(value);
  }
}

/** A plain-text table: ID, VERSION, then the type's print columns. */
export function formatTable(
  def: ResourceDefinition,
  resources: readonly Resource[],
  now: number,
): string {
  const columns = def.columns.filter((c) =>
    !c.optional || resources.some((r) => cell(r, c, now) !== "")
  );
  const headers = ["ID", "VERSION", ...columns.map((c) => c.header)];
  const rows = resources.map((
    r,
  ) => [r.id, String(r.version), ...columns.map((c) => cell(r, c, now))]);
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]!.length))
  );
  const line = (cells: string[]) =>
    cells.map((c, i) => c.padEnd(widths[i]!)).join("   ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** Renders resources in a format. YAML separates resources with `---` as talosctl does. */
export function renderResources(
  def: ResourceDefinition,
  resources: readonly Resource[],
  format: OutputFormat,
  now: number,
): string {
  switch (format) {
    case "table":
      return formatTable(def, resources, now);
    case "json":
      return resources.map((r) => JSON.stringify(r, null, 2)).join("\n") +
        (resources.length ? "\n" : "");
    case "yaml":
      return resources.map((r) =>
        stringify({
          id: r.id,
          version: r.version,
          updated: new Date(r.updated).toISOString(),
          spec: r.spec,
        })
      ).join("---\n");
  }
}
