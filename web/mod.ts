/**
 * The operator surface: the local HTTP API (Hono), its client for the CLI,
 * Prometheus metrics, the dashboard, the API token and systemd
 * notification.
 *
 * @module
 */
export * from "./types.ts";
export * from "./api.ts";
export * from "./serve.ts";
export * from "./client.ts";
export * from "./metrics.ts";
export * from "./token.ts";
export * from "./sd_notify.ts";
export * from "./agent_deps.ts";
export type { ApiResource } from "./_public_view.ts";
