/**
 * Generic netlink: header helpers and family resolution.
 *
 * @module
 */
export * from "./family.ts";
