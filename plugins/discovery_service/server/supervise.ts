/**
 * Runs the discovery service inside the agent and restarts it when it stops
 * unexpectedly (e.g. the HTTP/2 layer failed), with a growing delay.
 *
 * @module
 */
import type { DiscoveryServeConfig } from "../../../core/config/types.ts";
import { backoffDelay } from "../target.ts";
import {
  FileReadError,
  readBoundedText,
} from "../../../core/fs/read_bounded.ts";
import {
  type DiscoveryServer,
  serveDiscovery,
  type ServeDiscoveryOptions,
} from "./serve.ts";

/**
 * Turns the site config's `discovery.serve` into service options (totals
 * and GC interval included), reading the certificate and key files.
 *
 * @throws {Error} naming the file that cannot be read
 */
export async function serveOptionsFromConfig(
  cfg: DiscoveryServeConfig,
): Promise<ServeDiscoveryOptions> {
  const read = async (path: string) => {
    try {
      return (await readBoundedText(path)).text;
    } catch (err) {
      throw new Error(
        `Cannot read discovery.serve TLS file "${path}": ${
          err instanceof FileReadError ? err.detail : String(err)
        }`,
        { cause: err },
      );
    }
  };
  return {
    listen: cfg.listen,
    ...(cfg.tlsCert && cfg.tlsKey
      ? { tlsCert: await read(cfg.tlsCert), tlsKey: await read(cfg.tlsKey) }
      : {}),
    ...(cfg.stateFile ? { stateFile: cfg.stateFile } : {}),
    limits: {
      ...(cfg.maxClusters ? { clustersMax: cfg.maxClusters } : {}),
      ...(cfg.maxAffiliates ? { totalAffiliatesMax: cfg.maxAffiliates } : {}),
    },
    ...(cfg.gcIntervalMs ? { gcIntervalMs: cfg.gcIntervalMs } : {}),
  };
}

/** A supervised service. */
export interface SupervisedDiscovery {
  /** The running instance, if any. */
  current(): DiscoveryServer | undefined;
  /** How many times it was (re)started. */
  starts(): number;
  /** Stops it and the supervision. */
  stop(): Promise<void>;
}

/** Starts the service and keeps it running until `stop()`. */
export function superviseDiscovery(
  options: ServeDiscoveryOptions,
  log: (message: string, fields?: Record<string, unknown>) => void = () => {},
): SupervisedDiscovery {
  let server: DiscoveryServer | undefined;
  let starts = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      try {
        server = await serveDiscovery({ ...options, log });
        starts++;
        failures = 0;
        await server.closed;
        server = undefined;
        if (stopped) break;
        log("discovery service stopped unexpectedly; restarting");
      } catch (err) {
        log("discovery service failed to start", { error: String(err) });
      }
      failures++;
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoffDelay(failures, Math.random()));
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  })();
  return {
    current: () => server,
    starts: () => starts,
    async stop() {
      stopped = true;
      wake?.();
      await server?.close();
      await loop;
    },
  };
}
