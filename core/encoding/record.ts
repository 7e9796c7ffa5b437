/**
 * Type guard for plain mappings parsed from YAML or JSON.
 *
 * @module
 */
/** Whether a parsed YAML/JSON value is a plain mapping. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
