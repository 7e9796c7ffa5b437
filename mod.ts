/**
 * edgespan: a WireGuard full-mesh agent for edge boxes.
 *
 * This module is the library surface: the core (config, identity,
 * resources, plugin contracts, mesh step contract, agent), the built-in
 * plugins, the CLI's building blocks and the neutral formatters. The `edgespan` command line is `main.ts`:
 *
 * ```sh
 * npx deno run -A main.ts --help
 * ```
 *
 * @module
 */
export * from "./core/mod.ts";
export * from "./web/cli/mod.ts";
export * from "./web/format.ts";
export * from "./plugins/mod.ts";
