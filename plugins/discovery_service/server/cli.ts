/**
 * `edgespan discovery serve`: runs a standalone discovery service.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { serveDiscovery } from "./serve.ts";

const HELP = `Usage: edgespan discovery serve --listen ADDR [options]

Runs a discovery service compatible with the Sidero discovery API
(gRPC sidero.discovery.server.Cluster). Plaintext HTTP/2 (h2c) unless a
certificate and key are given. /healthz and /metrics are served on the
same port, over HTTP/2 or plain HTTP/1.1.

Options:
  --listen ADDR        host:port to listen on (e.g. 0.0.0.0:3000)
  --tls-cert FILE      PEM certificate (with --tls-key: serve TLS)
  --tls-key FILE       PEM private key
  --state-file FILE    keep state across restarts (written atomically)
  --redirect HOST:PORT send every client to another service
  --rate N             requests per second per client IP (default 15)
  --burst N            rate-limit burst (default 60)
  --trust-proxy        take the client IP from X-Real-IP / X-Forwarded-For
  --max-conns-per-ip N open connections from one client IP (default 1024)
  -h, --help           show this help
`;

/** Runs the command; resolves with the exit code when the service stops. */
export async function discoveryServeCommand(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        listen: { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "state-file": { type: "string" },
        redirect: { type: "string" },
        rate: { type: "string" },
        burst: { type: "string" },
        "trust-proxy": { type: "boolean" },
        "max-conns-per-ip": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.listen) {
    console.error(`--listen is required\n\n${HELP}`);
    return 2;
  }
  if (
    (values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)
  ) {
    console.error("--tls-cert and --tls-key must be given together");
    return 2;
  }
  const rate = Number(values.rate ?? 15);
  const burst = Number(values.burst ?? 60);
  if (!(rate > 0) || !(burst >= 1)) {
    console.error("--rate must be > 0 and --burst >= 1");
    return 2;
  }
  const maxPerIp = Number(values["max-conns-per-ip"] ?? 1024);
  if (!Number.isInteger(maxPerIp) || maxPerIp < 1) {
    console.error("--max-conns-per-ip must be a whole number >= 1");
    return 2;
  }
  const log = (message: string, fields?: Record<string, unknown>) =>
    console.error(
      JSON.stringify({ time: new Date().toISOString(), message, ...fields }),
    );
  try {
    const server = await serveDiscovery({
      listen: values.listen,
      ...(values["tls-cert"] && values["tls-key"]
        ? {
          tlsCert: await Deno.readTextFile(values["tls-cert"]),
          tlsKey: await Deno.readTextFile(values["tls-key"]),
        }
        : {}),
      ...(values["state-file"] ? { stateFile: values["state-file"] } : {}),
      ...(values.redirect ? { redirectEndpoint: values.redirect } : {}),
      rateLimit: { rate, burst },
      trustProxyHeaders: values["trust-proxy"] ?? false,
      maxConnectionsPerIp: maxPerIp,
      log,
    });
    const stop = () => void server.close();
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
    await server.closed;
    Deno.removeSignalListener("SIGTERM", stop);
    Deno.removeSignalListener("SIGINT", stop);
    return 0;
  } catch (err) {
    console.error(
      `Cannot run the discovery service: ${(err as Error).message}`,
    );
    return 1;
  }
}

if (import.meta.main) Deno.exit(await discoveryServeCommand(Deno.args));
