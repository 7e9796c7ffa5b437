/**
 * rtnetlink: links, addresses, policy rules and routes, with a pure diff
 * and an idempotent apply.
 *
 * @module
 */
export * from "./address.ts";
export * from "./constants.ts";
export * from "./diff.ts";
export * from "./link.ts";
export * from "./route.ts";
export * from "./rtnetlink.ts";
export * from "./rule.ts";
