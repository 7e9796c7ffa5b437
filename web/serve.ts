/**
 * Starts the local API on loopback TCP and, optionally, a unix socket.
 *
 * @module
 */
import { createApi } from "./api.ts";
import { isLoopbackHost } from "../core/netaddr/host.ts";
import type { ApiDeps } from "./types.ts";

/** Options for {@linkcode serveApi}. */
export interface ServeApiOptions {
  /** `host:port` (`[v6]:port` for IPv6). Port 0 picks a free port. */
  listen: string;
  /** Unix socket path served in addition to TCP. @default none */
  socket?: string;
  /** Allow a `listen` address that is not loopback. @default false */
  allowNonLoopback?: boolean;
  /** Keep-alive interval of watch streams. @default 15000 */
  heartbeatMs?: number;
}

/** A running API. */
export interface ApiServer {
  /** `http://host:port` actually bound (port 0 resolved). */
  url: string;
  /** The unix socket path, when one is served. */
  socket?: string;
  /** Ends watch streams, stops listening and waits for open requests. */
  close(): Promise<void>;
}

/** The API cannot be served as configured. */
export class ApiBindError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ApiBindError";
  }
}

/** Splits `host:port` / `[v6]:port`; throws `ApiBindError` on bad input. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(listen) ??
    /^([^:\[\]]+):(\d+)$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new ApiBindError(
      `Cannot serve the API on "${listen}": use host:port, e.g. 127.0.0.1:7443 or [::1]:7443`,
    );
  }
  return { host: m[1]!, port };
}

async function removeStaleSocket(path: string): Promise<void> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isSocket) {
      throw new ApiBindError(
        `Cannot serve the API on unix socket "${path}": a file that is not a socket is in the way; remove it or choose another api.socket`,
      );
    }
    await Deno.remove(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/**
 * Serves {@linkcode createApi} on `listen` (and `socket`). Refuses a
 * non-loopback `listen` unless `allowNonLoopback`, because the read routes
 * have no authentication.
 */
export async function serveApi(
  deps: ApiDeps,
  options: ServeApiOptions,
): Promise<ApiServer> {
  const { host, port } = parseListen(options.listen);
  if (!isLoopbackHost(host) && !options.allowNonLoopback) {
    throw new ApiBindError(
      `Refusing to serve the API on "${options.listen}": it is not a loopback address and the read routes have no authentication; set api.allowNonLoopback: true to expose it anyway`,
    );
  }
  const stop = new AbortController();
  // A non-loopback listen is also answered under its own address; a
  // wildcard one under any address (never under another name).
  const wildcard = host === "0.0.0.0" || host === "::";
  const app = createApi(deps, {
    signal: stop.signal,
    hostPolicy: isLoopbackHost(host)
      ? {}
      : wildcard
      ? { anyAddress: true }
      : { hosts: [host] },
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
  });
  const servers: Deno.HttpServer[] = [];
  const close = async () => {
    stop.abort();
    await Promise.all(servers.map((s) => s.shutdown().catch(() => {})));
    if (options.socket) await Deno.remove(options.socket).catch(() => {});
  };
  let url: string;
  try {
    const tcp = Deno.serve({
      hostname: host,
      port,
      onListen: () => {},
    }, app.fetch);
    servers.push(tcp);
    const addr = tcp.addr as Deno.NetAddr;
    url = `http://${
      addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname
    }:${addr.port}`;
  } catch (e) {
    await close();
    throw new ApiBindError(
      `Cannot serve the API on "${options.listen}": ${
        (e as Error).message
      }; pick a free port in api.listen`,
      { cause: e },
    );
  }
  if (options.socket) {
    try {
      await removeStaleSocket(options.socket);
      const unix = Deno.serve({
        path: options.socket,
        transport: "unix",
        onListen: () => {},
      }, app.fetch);
      servers.push(unix);
      await Deno.chmod(options.socket, 0o660);
    } catch (e) {
      await close();
      if (e instanceof ApiBindError) throw e;
      throw new ApiBindError(
        `Cannot serve the API on unix socket "${options.socket}": ${
          (e as Error).message
        }`,
        { cause: e },
      );
    }
  }
  return {
    url,
    ...(options.socket ? { socket: options.socket } : {}),
    close,
  };
}
