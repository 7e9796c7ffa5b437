/**
 * The `discovery-server` plugin: hosts the discovery service inside the
 * agent when the site config has `discovery.serve`, supervised (restarted
 * on failure) while the plugin runs. A changed `discovery.serve` restarts
 * the service on reload; switching the plugin off stops it. The replies of
 * the hosted service are never marked into the tunnel (`tunnelBypass`).
 * The service's code is imported only when it is served, so an agent
 * without `discovery.serve` does not load it.
 *
 * @module
 */
import type { DiscoveryServeConfig } from "../../core/config/types.ts";
import { splitHostPort } from "../../core/netaddr/host.ts";
import { definePlugin } from "../../core/plugins/types.ts";
import type { SupervisedDiscovery } from "./server/supervise.ts";

/** Hosts the discovery service per `discovery.serve`. */
export const discoveryServerPlugin = definePlugin({
  name: "discovery-server",
  hooks: ["tunnelBypass"],
  version: "1.0.0",
  description:
    "Hosts a discovery service on this box when discovery.serve is configured",
  defaultEnabled: true,
  create(ctx) {
    const log = ctx.log.with({ component: "discovery-server" });
    let serve: DiscoveryServeConfig | undefined = ctx.config.discovery.serve;
    let supervised: SupervisedDiscovery | undefined;

    async function start(): Promise<void> {
      // A one-shot command (leave) must not bind the service's port, which
      // the running agent of this box may hold.
      if (!serve || ctx.oneShot) return;
      const { serveOptionsFromConfig, superviseDiscovery } = await import(
        "./server/supervise.ts"
      );
      supervised = superviseDiscovery(
        await serveOptionsFromConfig(serve),
        (message, fields) => log.info(message, fields),
      );
      log.info("embedded discovery service starting", {
        listen: serve.listen,
        tls: Boolean(serve.tlsCert),
      });
    }
    async function stop(): Promise<void> {
      const running = supervised;
      supervised = undefined;
      await running?.stop();
    }

    return {
      tunnelBypass: {
        destinations: () => Promise.resolve([]),
        replyPorts: () => serve ? [splitHostPort(serve.listen).port] : [],
      },
      start,
      async reload(_options, config) {
        const next = config.discovery.serve;
        if (JSON.stringify(next) === JSON.stringify(serve)) return;
        await stop();
        serve = next;
        await start();
      },
      stop,
    };
  },
});
