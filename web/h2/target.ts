/**
 * Where an HTTP/2 client connects: a plain data type, so that a caller
 * (a discovery URL, a config file) maps its own notion of an endpoint to it.
 *
 * @module
 */

/** An HTTP/2 server to connect to. */
export interface H2Target {
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  port: number;
  /** TLS (with ALPN) rather than cleartext HTTP/2 with prior knowledge. */
  tls: boolean;
  /** PEM CA certificates trusted in addition to the system's, for TLS. */
  ca?: string;
  /** The ALPN protocol the TLS server must choose. @default "h2" */
  alpn?: string;
}

/** `host:port`, an IPv6 host in brackets (an HTTP authority). */
export function authority(t: Pick<H2Target, "host" | "port">): string {
  return `${t.host.includes(":") ? `[${t.host}]` : t.host}:${t.port}`;
}
