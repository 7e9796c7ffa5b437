/**
 * Accepts connections (plain TCP or TLS), tells HTTP/2 from HTTP/1.1 by the
 * first bytes, and hands each to its server. Tracks open connections so the
 * server can close them all.
 *
 * @module
 */
import {
  type H2ConnectionOptions,
  H2ServerConnection,
  looksLikeH2,
} from "./server.ts";
import { type PlainResponse, serveHttp1 } from "./http1.ts";
import type { ServerStream } from "./server_stream.ts";

/** What the listener serves. */
export interface ListenerHandlers {
  /** An HTTP/2 request stream. */
  stream(stream: ServerStream): void;
  /** A plain HTTP/1.1 GET/HEAD (health, metrics). */
  plain(method: string, path: string): PlainResponse;
}

/** Limits of the accept loop, on top of each connection's. */
export interface AcceptOptions extends H2ConnectionOptions {
  tls?: boolean;
  /** Open connections from one IP address (or one `clientKey`). @default 1024 */
  maxConnectionsPerIp?: number;
  /** Maps a peer address to the key the per-IP cap counts. @default the address */
  clientKey?: (ip: string) => string;
  /** Open connections in all. @default 16384 */
  maxConnections?: number;
  /** Told about each connection closed at once for a limit. */
  onRefused?: (ip: string, limit: "per-ip" | "total") => void;
}

/** A running accept loop. */
export interface AcceptLoop {
  /** Open HTTP/2 connections. */
  readonly connections: ReadonlySet<H2ServerConnection>;
  /** Resolves when the listener stopped. */
  readonly done: Promise<void>;
  /** Stops accepting and closes every connection. */
  close(): Promise<void>;
}

function remoteHost(conn: Deno.Conn): string {
  const addr = conn.remoteAddr;
  return addr.transport === "tcp" ? addr.hostname : "";
}

async function firstBytes(
  conn: Deno.Conn,
  timeoutMs: number,
): Promise<Uint8Array | null> {
  const buf = new Uint8Array(4096);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const n = await Promise.race([
      conn.read(buf),
      new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs))),
    ]);
    return n === null ? null : buf.slice(0, n);
  } finally {
    clearTimeout(timer);
  }
}

/** Serves `listener` until closed. */
export function acceptLoop(
  listener: Deno.Listener,
  handlers: ListenerHandlers,
  options: AcceptOptions = {},
): AcceptLoop {
  const connections = new Set<H2ServerConnection>();
  const raw = new Set<Deno.Conn>();
  const perIp = new Map<string, number>();
  const handshakeMs = options.handshakeTimeoutMs ?? 10_000;
  const maxPerIp = options.maxConnectionsPerIp ?? 1024;
  const maxTotal = options.maxConnections ?? 16_384;

  async function handle(conn: Deno.Conn): Promise<void> {
    const ip = options.clientKey?.(remoteHost(conn)) ?? remoteHost(conn);
    const mine = perIp.get(ip) ?? 0;
    if (mine >= maxPerIp || raw.size >= maxTotal) {
      options.onRefused?.(ip, mine >= maxPerIp ? "per-ip" : "total");
      try {
        conn.close();
      } catch {
        // already closed
      }
      return;
    }
    perIp.set(ip, mine + 1);
    raw.add(conn);
    try {
      // Small frames (one change for one watcher) must not wait for Nagle.
      if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
      if (options.tls) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          (conn as Deno.TlsConn).handshake(),
          new Promise((_, reject) =>
            timer = setTimeout(
              () => reject(new Error("TLS handshake timeout")),
              handshakeMs,
            )
          ),
        ]).finally(() => clearTimeout(timer));
      }
      const head = await firstBytes(conn, handshakeMs);
      if (head === null) return;
      if (looksLikeH2(head)) {
        const h2 = new H2ServerConnection(
          conn,
          remoteHost(conn),
          handlers.stream,
          options,
        );
        connections.add(h2);
        try {
          await h2.serve(head);
        } finally {
          connections.delete(h2);
        }
      } else {
        await serveHttp1(conn, head, handlers.plain, handshakeMs);
      }
    } catch {
      // A broken handshake or connection only ends that connection.
    } finally {
      raw.delete(conn);
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left > 0) perIp.set(ip, left);
      else perIp.delete(ip);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  let closing = false;
  const done = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        if (closing) return;
        // Out of descriptors or a transient accept error: keep serving.
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      void handle(conn);
    }
  })();

  return {
    connections,
    done,
    async close() {
      closing = true;
      try {
        listener.close();
      } catch {
        // already closed
      }
      await done;
      for (const c of connections) c.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all([...connections].map((c) => c.closed)),
        new Promise((r) => (timer = setTimeout(r, 500))),
      ]);
      clearTimeout(timer);
      for (const c of raw) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
    },
  };
}
