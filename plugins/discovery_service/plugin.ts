/**
 * The `discovery-service` plugin: one {@linkcode DiscoveryClient} per
 * `discovery.endpoints` URL, merged results, and a cache of the last view.
 * It also keeps the services' addresses out of the tunnel
 * (`tunnelBypass`), since a node must reach them before any tunnel exists.
 *
 * @module
 */
import { definePlugin } from "../../core/plugins/types.ts";
import type {
  DiscoveryHealth,
  DiscoveryHooks,
} from "../../core/plugins/types.ts";
import type { AffiliateSpec } from "../../core/resources/specs.ts";
import { VERSION } from "../../core/version.ts";
import { parseDuration } from "../../core/config/duration.ts";
import { readCache, writeCache } from "./cache.ts";
import { DiscoveryClient } from "./client.ts";
import { clusterKey, createClusterCipher } from "./crypto.ts";
import { mergeAffiliates } from "../../core/mesh/merge.ts";
import { bypassDestinations, type HostResolver } from "./bypass.ts";
import { type BackoffOptions, parseDiscoveryUrl } from "./target.ts";

/**
 * Reconnect delays of the plugin's clients: the first retry after about
 * 0.1 s, so an agent that starts next to its discovery service (the
 * service still binding, as in a site started at once) connects at once,
 * then doubling to the same 60 s cap as the default. Measured with
 * tests/bench/mesh_bench.ts: the default's first retry (0.25-0.75 s) was
 * the gap between "API listening" and "discovery snapshot".
 */
export const RECONNECT_BACKOFF: Readonly<BackoffOptions> = {
  initialMs: 100,
  multiplier: 2,
  jitter: 0.5,
  maxMs: 60_000,
};

/** Options of the plugin (tests and self-hosted TLS). */
export interface DiscoveryServiceOptions {
  /** Extra PEM CA file text for `https://` services with a private CA. */
  tlsCa?: string;
  /**
   * Hello repeated on a live session this often (ms), so a changed public
   * address is re-learned; 0 = only on connect, as Talos. @default 30 s
   */
  helloIntervalMs?: number;
}

/** Dependencies of {@linkcode createDiscoveryServicePlugin} (tests). */
export interface DiscoveryServicePluginDeps {
  /** Resolves discovery host names to keep them out of the tunnel. @default DNS */
  resolveHost?: HostResolver;
}

/** Publishes this node to the discovery services and watches the others. */
export function createDiscoveryServicePlugin(
  deps: DiscoveryServicePluginDeps = {},
) {
  return definePlugin<"discovery" | "tunnelBypass", DiscoveryServiceOptions>({
    name: "discovery-service",
    hooks: ["discovery", "tunnelBypass"],
    version: "1.0.0",
    description:
      "Sidero-compatible discovery service client (encrypted affiliates over gRPC)",
    defaultEnabled: true,
    parseOptions(raw) {
      const tlsCa = raw["tlsCa"];
      if (tlsCa !== undefined && typeof tlsCa !== "string") {
        return {
          ok: false,
          problems: [{ path: "tlsCa", message: "must be PEM text" }],
        };
      }
      const options: DiscoveryServiceOptions = tlsCa === undefined
        ? {}
        : { tlsCa };
      const hello = raw["helloInterval"];
      if (hello !== undefined) {
        try {
          if (typeof hello !== "string" && typeof hello !== "number") {
            throw new SyntaxError("must be a duration such as 30s, or 0");
          }
          options.helloIntervalMs = parseDuration(hello);
        } catch (e) {
          return {
            ok: false,
            problems: [{
              path: "helloInterval",
              message: (e as Error).message,
            }],
          };
        }
      }
      return { ok: true, options };
    },
    create(ctx, options) {
      const cipher = createClusterCipher(clusterKey(ctx.config.cluster.secret));
      const stateDir = ctx.config.node.stateDir;
      let cached: AffiliateSpec[] = [];
      let cacheLoaded = false;
      let lastSaved = "";
      let saving = Promise.resolve();
      const clients = ctx.config.discovery.endpoints.map((url) =>
        new DiscoveryClient({
          url,
          clusterId: ctx.config.cluster.id,
          nodeId: ctx.identity.nodeId,
          cipher,
          clientVersion: `edgespan ${VERSION}`,
          source: ctx.pluginName,
          harvest: ctx.config.kubespan.harvestExtraEndpoints,
          now: ctx.now,
          backoff: RECONNECT_BACKOFF,
          ...(options.tlsCa ? { tlsCa: options.tlsCa } : {}),
          ...(options.helloIntervalMs !== undefined
            ? { helloIntervalMs: options.helloIntervalMs }
            : {}),
          warn: (message, fields) => ctx.log.warn(message, { ...fields, url }),
          onChange: (reason) => {
            saveSoon();
            ctx.requestReconcile(reason);
          },
        })
      );
      const runs: Promise<void>[] = [];
      const targets = ctx.config.discovery.endpoints.map(parseDiscoveryUrl);

      function live(): AffiliateSpec[] {
        return mergeAffiliates(
          clients.filter((c) => c.everConnected).map((c) => c.affiliates()),
        );
      }
      function saveSoon(): void {
        if (!clients.some((c) => c.connected)) return;
        const view = live();
        const text = JSON.stringify(view);
        if (text === lastSaved) return;
        lastSaved = text;
        saving = saving.then(() => writeCache(stateDir, view, ctx.now())).catch(
          (err) =>
            ctx.log.warn("discovery: cannot write the peer cache", {
              error: String(err),
            }),
        );
      }

      const discovery: DiscoveryHooks = {
        publish(local, observed) {
          for (const c of clients) c.publish(local, observed);
          return Promise.resolve();
        },
        affiliates() {
          if (clients.some((c) => c.everConnected)) return live();
          return cacheLoaded ? structuredClone(cached) : [];
        },
        publicAddresses() {
          return [...new Set(clients.flatMap((c) => c.publicAddresses()))];
        },
        async leave() {
          const results = await Promise.allSettled(
            clients.map((c) => c.leave()),
          );
          const failed = results.filter((r) => r.status === "rejected");
          if (failed.length > 0 && failed.length === clients.length) {
            throw new Error(
              `Cannot remove this node from discovery: ${
                String((failed[0] as PromiseRejectedResult).reason)
              }`,
            );
          }
        },
        health(): DiscoveryHealth {
          if (clients.length === 0) {
            return {
              state: "connecting",
              detail: "no discovery.endpoints configured",
            };
          }
          const up = clients.find((c) => c.connected);
          if (up) return up.health();
          if (cached.length > 0 && !clients.some((c) => c.everConnected)) {
            return {
              state: "cached",
              detail:
                `${cached.length} peers from ${stateDir}/discovery-cache.json; ${
                  clients[0]!.health().detail
                }`,
            };
          }
          return clients[0]!.health();
        },
      };

      return {
        discovery,
        tunnelBypass: {
          destinations: () => bypassDestinations(targets, deps.resolveHost),
          replyPorts: () => [],
        },
        async start() {
          cached = await readCache(stateDir);
          cacheLoaded = true;
          for (const c of clients) c.seed(cached);
          if (cached.length > 0) ctx.requestReconcile("discovery cache loaded");
          for (const c of clients) runs.push(c.run(ctx.signal));
        },
        async stop() {
          await Promise.all(runs);
          await saving;
        },
      };
    },
  });
}

/** The plugin with the system's DNS. */
export const discoveryServicePlugin = createDiscoveryServicePlugin();
