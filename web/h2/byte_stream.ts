/**
 * The byte stream under an HTTP/2 connection, and TLS for the client side.
 *
 * TLS goes through `node:tls` rather than `Deno.connectTls`: Deno's own
 * client refuses a self-signed certificate that is marked as a CA when the
 * server presents it as its own ("CaUsedAsEndEntity"), which is what a plain
 * `openssl req -x509` makes and what Go clients (Talos) accept. `node:tls`
 * accepts it when it is given as the trusted CA. It is imported on the first
 * TLS connection only, so an agent that never dials TLS does not load
 * Deno's Node compatibility layer for it.
 *
 * @module
 */
import type tls from "node:tls";

/** What a connection reads and writes (a `Deno.Conn` fits). */
export interface ByteStream {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** Writes all of `bytes` (a write may take only part of them). */
export async function writeAll(
  stream: ByteStream,
  bytes: Uint8Array,
): Promise<void> {
  for (let off = 0; off < bytes.length;) {
    off += await stream.write(bytes.subarray(off));
  }
}

/** Where to open TLS, and whom to trust. */
export interface TlsTarget {
  hostname: string;
  port: number;
  /** PEM CA certificates trusted in addition to the system's. */
  caCerts?: string[];
  /** ALPN protocol the server must choose. */
  alpn: string;
}

const HIGH_WATER = 1024 * 1024;

/** Adapts a Node socket to {@linkcode ByteStream}, with back-pressure. */
class NodeSocketStream implements ByteStream {
  readonly #socket: tls.TLSSocket;
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(socket: tls.TLSSocket) {
    this.#socket = socket;
    socket.on("data", (b: Uint8Array) => {
      this.#chunks.push(new Uint8Array(b));
      this.#buffered += b.length;
      if (this.#buffered > HIGH_WATER) socket.pause();
      this.#wake?.();
    });
    socket.on("end", () => this.#end());
    socket.on("close", () => this.#end());
    socket.on("error", (err: Error) => {
      this.#error ??= err;
      this.#wake?.();
    });
  }

  #end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      const chunk = this.#chunks[0];
      if (chunk) {
        const n = Math.min(p.length, chunk.length);
        p.set(chunk.subarray(0, n));
        if (n === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(n);
        this.#buffered -= n;
        if (this.#buffered <= HIGH_WATER / 2) this.#socket.resume();
        return n;
      }
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
  }

  write(p: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#error) return reject(this.#error);
      this.#socket.write(p, (err?: Error | null) => {
        if (err) reject(err);
        else resolve(p.length);
      });
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

function isIP(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

/** Opens TLS to `target`; fails unless the server chooses `target.alpn`. */
export async function connectTls(target: TlsTarget): Promise<ByteStream> {
  const tls = (await import("node:tls")).default;
  return await new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: target.hostname,
      port: target.port,
      ALPNProtocols: [target.alpn],
      ...(isIP(target.hostname) ? {} : { servername: target.hostname }),
      ...(target.caCerts
        ? { ca: [...tls.rootCertificates, ...target.caCerts] }
        : {}),
    });
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.once("error", fail);
    socket.once("secureConnect", () => {
      socket.off("error", fail);
      if (socket.alpnProtocol !== target.alpn) {
        fail(
          new Error(
            `the server chose ${
              socket.alpnProtocol || "no protocol"
            } over TLS, not ${target.alpn}: is this a gRPC service?`,
          ),
        );
        return;
      }
      socket.setNoDelay(true);
      resolve(new NodeSocketStream(socket));
    });
  });
}
