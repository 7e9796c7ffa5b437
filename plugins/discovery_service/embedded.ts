/**
 * Hosts the discovery service inside the agent when the site config has
 * `discovery.serve`, supervised (restarted on failure) for as long as the
 * agent runs.
 *
 * @module
 */
import type { Agent } from "../../core/agent.ts";
import type { Attachment } from "../../core/cli/main.ts";
import {
  serveOptionsFromConfig,
  superviseDiscovery,
} from "./server/supervise.ts";

/** Starts the embedded service if configured; `undefined` when it is not. */
export async function attachEmbeddedDiscovery(
  agent: Agent,
): Promise<Attachment | undefined> {
  const serve = agent.config.discovery.serve;
  if (!serve) return undefined;
  const log = agent.log.with({ component: "discovery-server" });
  const supervised = superviseDiscovery(
    await serveOptionsFromConfig(serve),
    (message, fields) => log.info(message, fields),
  );
  log.info("embedded discovery service starting", {
    listen: serve.listen,
    tls: Boolean(serve.tlsCert),
  });
  return { close: () => supervised.stop() };
}
