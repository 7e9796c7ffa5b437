/**
 * The `edgespan` command line: argument parsing, the subcommands, and
 * resource output (tables, YAML, JSON). A face beside the HTTP API; it
 * reads a running agent through an injected {@linkcode ResourceClient}.
 *
 * @module
 */
export * from "./main.ts";
export * from "./output.ts";
export * from "./status.ts";
export * from "./api_target.ts";
