/**
 * The operator surface: the local HTTP API (Hono), its client, the CLI,
 * Prometheus metrics, the dashboard, the formatters they share and the API
 * token.
 *
 * @module
 */
export * from "./types.ts";
export * from "./api.ts";
export * from "./serve.ts";
export * from "./client.ts";
export * from "./metrics.ts";
export * from "./token.ts";
export * from "./format.ts";
export * from "./cli/mod.ts";
export * from "./agent_deps.ts";
export type { ApiResource } from "./public_view.ts";
