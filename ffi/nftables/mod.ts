/**
 * nf_tables over nfnetlink: table specs, expression encoders, atomic
 * table replacement and read-back.
 *
 * @module
 */
export * from "./batch.ts";
export * from "./constants.ts";
export * from "./expressions.ts";
export * from "./intervals.ts";
export * from "./matches.ts";
export * from "./mesh_table.ts";
export * from "./nftables.ts";
export * from "./read.ts";
export * from "./verify.ts";
