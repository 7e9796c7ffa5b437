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
import { type ApiResource, publicResource } from "../public_view.ts";

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

/**
 * Renders resources in a format, with the API's shape and RFC 3339 times:
 * `json` is one document (the resource for `get TYPE ID`, else
 * `{type, items}` as `GET /v1/<type>` answers); YAML separates resources
 * with `---` as talosctl does.
 */
export function renderResources(
  def: ResourceDefinition,
  resources: readonly Resource[],
  format: OutputFormat,
  now: number,
  options: { single?: boolean } = {},
): string {
  switch (format) {
    case "table":
      return formatTable(def, resources, now);
    case "json":
      return JSON.stringify(
        options.single && resources.length === 1
          ? publicResource(resources[0]!)
          : { type: def.type, items: resources.map(listItem) },
        null,
        2,
      ) + "\n";
    case "yaml":
      return resources.map((r) => stringify(listItem(r))).join("---\n");
  }
}

function listItem(r: Resource): Omit<ApiResource, "type"> {
  const { type: _type, ...rest } = publicResource(r);
  return rest;
}

/** A watch event as one NDJSON line: `{"kind":"updated","resource":{...}}`. */
export function renderEventLine(
  kind: "created" | "updated" | "deleted",
  resource: Resource,
): string {
  return JSON.stringify({ kind, resource: publicResource(resource) }) + "\n";
}
