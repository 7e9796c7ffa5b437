/**
 * Plugin core: hook interfaces per kind and the registry.
 *
 * @module
 */
export * from "./types.ts";
export * from "./registry.ts";
