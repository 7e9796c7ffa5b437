/**
 * Resources: spec types, definitions and the versioned, watchable store.
 *
 * @module
 */
export * from "./specs.ts";
export * from "./store.ts";
export * from "./definitions.ts";
