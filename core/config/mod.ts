/**
 * Site configuration: types, validation, loading and the starter file.
 *
 * @module
 */
export * from "./types.ts";
export * from "./validate.ts";
export * from "./load.ts";
export * from "./starter.ts";
export * from "./duration.ts";
export { closestName } from "./did_you_mean.ts";
