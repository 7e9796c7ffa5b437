/**
 * `edgespan discovery serve`: runs a standalone discovery service.
 *
 * @module
 */
import { parseArgs } from "../../../core/args/parse_args.ts";
import {
  FileReadError,
  readBoundedText,
} from "../../../core/fs/read_bounded.ts";
import {
  formatDuration,
  parseDuration,
} from "../../../core/config/duration.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import {
  DEFAULT_GC_INTERVAL_MS,
  MIN_GC_INTERVAL_MS,
  serveDiscovery,
} from "./serve.ts";

const HELP = `Usage: edgespan discovery serve --listen ADDR [options]

Runs a discovery service compatible with the Sidero discovery API
(gRPC sidero.discovery.server.Cluster). Plaintext HTTP/2 (h2c) unless a
certificate and key are given. /healthz and /metrics are served on the
same port, over HTTP/2 or plain HTTP/1.1.

Options:
  --listen ADDR        host:port to listen on (e.g. 0.0.0.0:3000)
  --tls-cert FILE      PEM certificate (with --tls-key: serve TLS)
  --tls-key FILE       PEM private key
  --store STORE        memory (default) or etcd://HOST:PORT[,HOST:PORT...]:
                       replicas on one etcd serve the same clusters
  --etcd-prefix P      etcd key prefix (default /edgespan/discovery/)
  --etcd-ca FILE       PEM CA of the etcd members (then https to etcd)
  --etcd-cert FILE     PEM client certificate for etcd (with --etcd-key)
  --etcd-key FILE      PEM client key for etcd
  --etcd-user NAME     etcd user (etcd auth); the password is read from
                       --etcd-password-file FILE or $EDGESPAN_ETCD_PASSWORD
  --state-file FILE    keep state across restarts (memory store; atomic writes)
  --redirect HOST:PORT send every client to another service
  --rate N             requests per second per client address (default 15);
                       a call over it waits up to its own deadline
  --burst N            rate-limit burst (default 60)
  --trust-proxy        take the client IP from X-Real-IP / X-Forwarded-For
  --max-conns-per-ip N open connections from one client address (default 1024)
  --max-clusters N     clusters held in all (default ${DEFAULT_LIMITS.clustersMax})
  --max-affiliates N   affiliates over all clusters (default ${DEFAULT_LIMITS.totalAffiliatesMax},
                       about 11 KiB each at the largest)
  --max-watchers N     open Watch streams in all, per replica with etcd
                       (default ${DEFAULT_LIMITS.watchersMax})
  --gc-interval D      how often expired affiliates are dropped (default ${
  formatDuration(DEFAULT_GC_INTERVAL_MS)
})
  -h, --help           show this help

A client address is an IPv4 address or an IPv6 /64. Over a total, requests
get gRPC ResourceExhausted naming the limit.
`;

/**
 * `--store`: `memory` (or absent), or `etcd://host:port[,host:port...]`
 * (members' client ports; https with `tls`). Returns a message on error.
 */
export function parseStoreFlag(
  text: string | undefined,
  opts: { tls: boolean },
): { kind: "memory" } | { kind: "etcd"; endpoints: string[] } | string {
  if (text === undefined || text === "memory") return { kind: "memory" };
  const m = /^etcd:\/\/(.+)$/.exec(text.trim());
  if (!m) {
    return `--store must be "memory" or "etcd://HOST:PORT[,HOST:PORT...]", got "${text}"`;
  }
  const endpoints: string[] = [];
  for (const part of m[1]!.replace(/\/+$/, "").split(",")) {
    const hp = part.trim();
    const ok = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(hp);
    if (!ok || Number(ok[2]) < 1 || Number(ok[2]) > 65535) {
      return `--store: "${hp}" is not HOST:PORT (e.g. etcd://10.0.0.1:2379,10.0.0.2:2379)`;
    }
    endpoints.push(`${opts.tls ? "https" : "http"}://${hp}`);
  }
  return { kind: "etcd", endpoints };
}

/** A whole number >= 1, or a message naming the flag. */
function count(
  flag: string,
  text: string | undefined,
  fallback: number,
): number | string {
  if (text === undefined) return fallback;
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && String(n) === text.trim()
    ? n
    : `--${flag} must be a whole number >= 1, got "${text}"`;
}

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
        store: { type: "string" },
        "etcd-prefix": { type: "string" },
        "etcd-ca": { type: "string" },
        "etcd-cert": { type: "string" },
        "etcd-key": { type: "string" },
        "etcd-user": { type: "string" },
        "etcd-password-file": { type: "string" },
        redirect: { type: "string" },
        rate: { type: "string" },
        burst: { type: "string" },
        "trust-proxy": { type: "boolean" },
        "max-conns-per-ip": { type: "string" },
        "max-clusters": { type: "string" },
        "max-affiliates": { type: "string" },
        "max-watchers": { type: "string" },
        "gc-interval": { type: "string" },
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
  const counts = {
    maxPerIp: count("max-conns-per-ip", values["max-conns-per-ip"], 1024),
    clustersMax: count(
      "max-clusters",
      values["max-clusters"],
      DEFAULT_LIMITS.clustersMax,
    ),
    totalAffiliatesMax: count(
      "max-affiliates",
      values["max-affiliates"],
      DEFAULT_LIMITS.totalAffiliatesMax,
    ),
    watchersMax: count(
      "max-watchers",
      values["max-watchers"],
      DEFAULT_LIMITS.watchersMax,
    ),
  };
  const bad = Object.values(counts).find((v) => typeof v === "string");
  if (bad !== undefined) {
    console.error(bad);
    return 2;
  }
  const { maxPerIp, clustersMax, totalAffiliatesMax, watchersMax } =
    counts as Record<keyof typeof counts, number>;
  let gcIntervalMs = DEFAULT_GC_INTERVAL_MS;
  if (values["gc-interval"] !== undefined) {
    try {
      gcIntervalMs = parseDuration(values["gc-interval"]);
    } catch (err) {
      console.error(`--gc-interval: ${(err as Error).message}`);
      return 2;
    }
    if (gcIntervalMs < MIN_GC_INTERVAL_MS) {
      console.error(
        `--gc-interval must be at least ${formatDuration(MIN_GC_INTERVAL_MS)}`,
      );
      return 2;
    }
  }
  const store = parseStoreFlag(values.store, {
    tls: values["etcd-ca"] !== undefined || values["etcd-cert"] !== undefined,
  });
  if (typeof store === "string") {
    console.error(store);
    return 2;
  }
  if (store.kind === "etcd" && values["state-file"]) {
    console.error(
      "--state-file is for the memory store; with --store etcd://... the state lives in etcd",
    );
    return 2;
  }
  if (
    (values["etcd-cert"] === undefined) !== (values["etcd-key"] === undefined)
  ) {
    console.error("--etcd-cert and --etcd-key must be given together");
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
          tlsCert: (await readBoundedText(values["tls-cert"])).text,
          tlsKey: (await readBoundedText(values["tls-key"])).text,
        }
        : {}),
      ...(values["state-file"] ? { stateFile: values["state-file"] } : {}),
      ...(store.kind === "etcd"
        ? {
          store: {
            ...store,
            ...(values["etcd-prefix"] ? { prefix: values["etcd-prefix"] } : {}),
            ...(values["etcd-ca"]
              ? { caCert: (await readBoundedText(values["etcd-ca"])).text }
              : {}),
            ...(values["etcd-cert"] && values["etcd-key"]
              ? {
                cert: (await readBoundedText(values["etcd-cert"])).text,
                key: (await readBoundedText(values["etcd-key"])).text,
              }
              : {}),
            ...(values["etcd-user"]
              ? {
                user: values["etcd-user"],
                password: values["etcd-password-file"]
                  ? (await readBoundedText(values["etcd-password-file"])).text
                    .trim()
                  : Deno.env.get("EDGESPAN_ETCD_PASSWORD") ?? "",
              }
              : {}),
          },
        }
        : {}),
      ...(values.redirect ? { redirectEndpoint: values.redirect } : {}),
      rateLimit: { rate, burst },
      trustProxyHeaders: values["trust-proxy"] ?? false,
      maxConnectionsPerIp: maxPerIp,
      limits: { clustersMax, totalAffiliatesMax, watchersMax },
      gcIntervalMs,
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
    // A file the operator named that cannot be used is their mistake (2),
    // anything else is the service failing (1).
    const unusableFile = err instanceof FileReadError ||
      (err as Error).cause instanceof FileReadError;
    return unusableFile ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await discoveryServeCommand(Deno.args));
