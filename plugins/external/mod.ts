/**
 * Site plugins from files: the loader the composition root gives the agent,
 * and the sandbox (one Deno worker per plugin, only the granted
 * permissions, every hook call under a deadline).
 *
 * @module
 */
export { createSiteLoader, type SiteLoaderOptions } from "./loader.ts";
export { Sandbox, SandboxError, workerPermissions } from "./sandbox.ts";
