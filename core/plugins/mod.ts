/**
 * Plugin core: the hook interfaces by group, the combination table and the
 * registry with its typed hooks facade.
 *
 * @module
 */
export * from "./types.ts";
export * from "./registry.ts";
