import {
  type ConfigProblem,
  DEFAULT_API_LISTEN,
  DEFAULT_LISTEN_PORT,
  DEFAULT_MTU,
  DEFAULT_RECONCILE_INTERVAL_MS,
  DEFAULT_STATE_DIR,
  type DiscoveryServeConfig,
  type EdgespanConfig,
  type KubeSpanFilters,
  MIN_MTU,
  type PluginSwitch,
} from "./types.ts";
import { isMap, Reader, redactProblems, secretValues } from "./_reader.ts";
import { readMachineFields } from "./_machine.ts";
import { parseDuration } from "./duration.ts";
import { parseAddrPort, parsePrefix, tryParseIP } from "../netaddr/ip.ts";

/** What the validator needs to know about a plugin to check its `plugins:` entry. */
export interface KnownPlugin {
  readonly name: string;
  /**
   * Checks the plugin's options (every key of its entry except `enabled`).
   * Returns problems with paths relative to the entry, e.g. `peers[0].publicKey`.
   */
  validateOptions?(options: Record<string, unknown>): ConfigProblem[];
}

/** Options for {@linkcode validateConfig}. */
export interface ValidateOptions {
  /** Plugins the binary knows; entries for any other name are an error. @default [] */
  plugins?: readonly KnownPlugin[];
}

/** Outcome of validation: a config only when there are no problems. */
export type ValidationResult =
  | { ok: true; config: EdgespanConfig }
  | { ok: false; problems: ConfigProblem[] };

const TOP_KEYS = [
  "cluster",
  "discovery",
  "kubespan",
  "node",
  "wireguard",
  "advertise",
  "api",
  "reconcile",
  "log",
  "plugins",
] as const;

const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

function prefixProblem(text: string): string | undefined {
  try {
    parsePrefix(text);
    return undefined;
  } catch {
    return `"${text}" is not a CIDR prefix or IP address`;
  }
}

function filterProblem(text: string): string | undefined {
  const body = text.startsWith("!") ? text.slice(1) : text;
  return prefixProblem(body) &&
    `"${text}" is not a CIDR prefix or IP address (optionally prefixed with "!")`;
}

function addrPortProblem(text: string): string | undefined {
  try {
    parseAddrPort(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function hostPortProblem(text: string): string | undefined {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) {
    return `"${text}" is not host:port (write e.g. 127.0.0.1:7443 or [::1]:7443)`;
  }
  return undefined;
}

function discoveryUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL (write e.g. https://discovery.example.com/)`;
  }
  if (!["http:", "https:", "grpc:"].includes(url.protocol)) {
    return `scheme "${url.protocol.slice(0, -1)}" is not http, https or grpc`;
  }
  if (!url.hostname) return `"${text}" has no host`;
  if (url.pathname !== "" && url.pathname !== "/") {
    return `"${text}" has a path; a discovery endpoint is a host and port only`;
  }
  return undefined;
}

function secretProblem(secret: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret) || secret.length % 4 !== 0) {
    return "is not standard base64 (generate one with `edgespan gen config`)";
  }
  const bytes = atob(secret).length;
  if (bytes !== 32) {
    return `decodes to ${bytes} bytes; it must be exactly 32 (generate one with \`edgespan gen config\`)`;
  }
  return undefined;
}

/**
 * Whether a host (name, address, or bracketed IPv6) is loopback:
 * `localhost`, 127.0.0.0/8, `::1`, or an IPv4-mapped 127.x address.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  const ip = tryParseIP(bare);
  if (!ip) return false;
  if (ip.family === 4) return ip.bytes[0] === 127;
  const b = ip.bytes;
  const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff &&
    b[11] === 0xff;
  if (mapped) return b[12] === 127;
  return b.every((x, i) => (i === 15 ? x === 1 : x === 0));
}

/** Splits `host:port` into its parts (brackets kept off IPv6 hosts). */
export function splitHostPort(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(":");
  return {
    host: text.slice(0, colon).replace(/^\[|\]$/g, ""),
    port: Number(text.slice(colon + 1)),
  };
}

/**
 * Validates raw YAML into an {@linkcode EdgespanConfig}, collecting every
 * problem with its field path. Pure: reads nothing and changes nothing.
 */
export function validateConfig(
  raw: unknown,
  options: ValidateOptions = {},
): ValidationResult {
  const r = new Reader();
  const top = r.map(raw, "", TOP_KEYS);
  if (raw === undefined || raw === null) {
    r.report(
      "(top level)",
      "the file is empty; start from `edgespan gen config`",
    );
  }

  // cluster
  const cluster = r.map(top.cluster, "cluster", ["id", "secret"]);
  const id = r.string(cluster.id, "cluster.id", "");
  if (!id) {
    r.report(
      "cluster.id",
      "is required (any opaque string; `edgespan gen config` makes one)",
    );
  } else if (new TextEncoder().encode(id).length > 256) {
    r.report("cluster.id", "is longer than 256 bytes");
  }
  const secret = r.string(cluster.secret, "cluster.secret", "");
  if (!secret) {
    r.report("cluster.secret", "is required (base64 of 32 random bytes)");
  } else {
    const problem = secretProblem(secret);
    if (problem) r.report("cluster.secret", problem);
  }

  // discovery
  const discovery = r.map(top.discovery, "discovery", ["endpoints", "serve"]);
  const endpoints = r.stringList(discovery.endpoints, "discovery.endpoints") ??
    [];
  r.eachItem(endpoints, "discovery.endpoints", discoveryUrlProblem);
  let serve: DiscoveryServeConfig | undefined;
  if (discovery.serve !== undefined && discovery.serve !== null) {
    const s = r.map(discovery.serve, "discovery.serve", [
      "listen",
      "tlsCert",
      "tlsKey",
      "stateFile",
      "maxClusters",
      "maxAffiliates",
      "gcInterval",
    ]);
    const listen = r.string(s.listen, "discovery.serve.listen", "");
    if (!listen) {
      r.report(
        "discovery.serve.listen",
        "is required (host:port to serve discovery on)",
      );
    } else {
      const p = hostPortProblem(listen);
      if (p) r.report("discovery.serve.listen", p);
    }
    serve = { listen };
    const cert = r.string(s.tlsCert, "discovery.serve.tlsCert");
    const key = r.string(s.tlsKey, "discovery.serve.tlsKey");
    if ((cert === undefined) !== (key === undefined)) {
      r.report(
        cert === undefined
          ? "discovery.serve.tlsCert"
          : "discovery.serve.tlsKey",
        "tlsCert and tlsKey must be given together",
      );
    }
    if (cert !== undefined) serve.tlsCert = cert;
    if (key !== undefined) serve.tlsKey = key;
    const stateFile = r.string(s.stateFile, "discovery.serve.stateFile");
    if (stateFile !== undefined) serve.stateFile = stateFile;
    for (const k of ["maxClusters", "maxAffiliates"] as const) {
      if (s[k] === undefined || s[k] === null) continue;
      serve[k] = r.int(s[k], `discovery.serve.${k}`, 0, {
        min: 1,
        max: 1_000_000,
      });
    }
    if (s.gcInterval !== undefined && s.gcInterval !== null) {
      try {
        const v = s.gcInterval;
        if (typeof v !== "string" && typeof v !== "number") {
          throw new TypeError("expected a duration such as 10s");
        }
        const ms = parseDuration(v);
        if (ms < 100) throw new RangeError(`${s.gcInterval} is below 100ms`);
        serve.gcIntervalMs = ms;
      } catch (e) {
        r.report("discovery.serve.gcInterval", (e as Error).message);
      }
    }
  }

  // kubespan
  const ks = r.map(top.kubespan, "kubespan", [
    "enabled",
    "mtu",
    "allowDownPeerBypass",
    "advertiseKubernetesNetworks",
    "harvestExtraEndpoints",
    "filters",
    "extraAnnouncedEndpoints",
  ]);
  let mtu = DEFAULT_MTU;
  if (ks.mtu !== 0) { // KubeSpan: 0 means the default
    mtu = r.int(ks.mtu, "kubespan.mtu", DEFAULT_MTU, {
      min: MIN_MTU,
      max: 65535,
    });
  }
  const f = r.map(ks.filters, "kubespan.filters", [
    "endpoints",
    "peerEndpoints",
    "excludeAdvertisedNetworks",
  ]);
  const filters: KubeSpanFilters = { excludeAdvertisedNetworks: [] };
  const endpointFilters = r.stringList(
    f.endpoints,
    "kubespan.filters.endpoints",
  );
  r.eachItem(endpointFilters, "kubespan.filters.endpoints", filterProblem);
  if (endpointFilters) filters.endpoints = endpointFilters;
  const peerFilters = r.stringList(
    f.peerEndpoints,
    "kubespan.filters.peerEndpoints",
  );
  r.eachItem(peerFilters, "kubespan.filters.peerEndpoints", filterProblem);
  if (peerFilters) filters.peerEndpoints = peerFilters;
  filters.excludeAdvertisedNetworks = r.stringList(
    f.excludeAdvertisedNetworks,
    "kubespan.filters.excludeAdvertisedNetworks",
  ) ?? [];
  r.eachItem(
    filters.excludeAdvertisedNetworks,
    "kubespan.filters.excludeAdvertisedNetworks",
    prefixProblem,
  );
  const enabled = r.bool(ks.enabled, "kubespan.enabled", true);
  const allowDownPeerBypass = r.bool(
    ks.allowDownPeerBypass,
    "kubespan.allowDownPeerBypass",
    false,
  );
  const advertiseKubernetesNetworks = r.bool(
    ks.advertiseKubernetesNetworks,
    "kubespan.advertiseKubernetesNetworks",
    false,
  );
  const harvestExtraEndpoints = r.bool(
    ks.harvestExtraEndpoints,
    "kubespan.harvestExtraEndpoints",
    false,
  );
  const extra = r.stringList(
    ks.extraAnnouncedEndpoints,
    "kubespan.extraAnnouncedEndpoints",
  ) ?? [];
  r.eachItem(extra, "kubespan.extraAnnouncedEndpoints", addrPortProblem);

  // node
  const node = r.map(top.node, "node", [
    "stateDir",
    "hostname",
    "machineType",
    "controlPlane",
    "apiServerPort",
  ]);
  const stateDir = r.string(node.stateDir, "node.stateDir", DEFAULT_STATE_DIR);
  if (!stateDir) r.report("node.stateDir", "must not be empty");
  else if (!stateDir.startsWith("/")) {
    r.report(
      "node.stateDir",
      `"${stateDir}" is not an absolute path; write the full path of a directory, e.g. /var/lib/edgespan`,
    );
  } else if (stateDir.includes("\0")) {
    r.report("node.stateDir", "must not contain a NUL character");
  }
  const hostname = r.string(node.hostname, "node.hostname");
  const machine = readMachineFields(r, node);

  // wireguard
  const wg = r.map(top.wireguard, "wireguard", [
    "backend",
    "interface",
    "listenPort",
  ]);
  const backend = r.oneOf(
    wg.backend,
    "wireguard.backend",
    ["auto", "kernel", "userspace"] as const,
    "auto",
  );
  const iface = r.string(wg.interface, "wireguard.interface", "kubespan");
  if (!INTERFACE_NAME.test(iface)) {
    r.report(
      "wireguard.interface",
      `"${iface}" is not a valid link name (1-15 letters, digits, "_", "-", ".")`,
    );
  }
  const listenPort = r.int(
    wg.listenPort,
    "wireguard.listenPort",
    DEFAULT_LISTEN_PORT,
    { min: 1, max: 65535 },
  );

  // advertise
  const adv = r.map(top.advertise, "advertise", [
    "networks",
    "kubernetesNetworks",
  ]);
  const networks = r.stringList(adv.networks, "advertise.networks") ?? [];
  r.eachItem(networks, "advertise.networks", prefixProblem);
  const podNetworks =
    r.stringList(adv.kubernetesNetworks, "advertise.kubernetesNetworks") ?? [];
  r.eachItem(podNetworks, "advertise.kubernetesNetworks", prefixProblem);

  // api
  const api = r.map(top.api, "api", ["listen", "socket", "allowNonLoopback"]);
  const apiListen = r.string(api.listen, "api.listen", DEFAULT_API_LISTEN);
  const allowNonLoopback = r.bool(
    api.allowNonLoopback,
    "api.allowNonLoopback",
    false,
  );
  const listenProblem = hostPortProblem(apiListen);
  if (listenProblem) r.report("api.listen", listenProblem);
  else if (
    !allowNonLoopback && !isLoopbackHost(splitHostPort(apiListen).host)
  ) {
    r.report(
      "api.listen",
      `"${apiListen}" is not a loopback address; set api.allowNonLoopback: true to expose the API on purpose`,
    );
  }
  const socket = r.string(api.socket, "api.socket");

  // reconcile
  const rec = r.map(top.reconcile, "reconcile", ["interval"]);
  let reconcileIntervalMs = DEFAULT_RECONCILE_INTERVAL_MS;
  if (rec.interval !== undefined && rec.interval !== null) {
    if (typeof rec.interval !== "string" && typeof rec.interval !== "number") {
      r.report("reconcile.interval", "expected a duration such as 30s");
    } else {
      try {
        reconcileIntervalMs = parseDuration(rec.interval);
        if (reconcileIntervalMs < 100) {
          r.report(
            "reconcile.interval",
            `${rec.interval} is below the minimum 100ms`,
          );
        }
      } catch (e) {
        r.report("reconcile.interval", (e as Error).message);
      }
    }
  }

  // log
  const log = r.map(top.log, "log", ["format", "level"]);
  const format = r.oneOf(
    log.format,
    "log.format",
    ["json", "logfmt"] as const,
    "json",
  );
  const level = r.oneOf(
    log.level,
    "log.level",
    ["debug", "info", "warn", "error"] as const,
    "info",
  );

  // plugins
  const known = options.plugins ?? [];
  const knownNames = known.map((p) => p.name);
  const pluginsRaw = r.map(top.plugins, "plugins", knownNames);
  const plugins: Record<string, PluginSwitch> = {};
  for (const [name, entry] of Object.entries(pluginsRaw)) {
    const plugin = known.find((p) => p.name === name);
    if (!plugin) continue; // already reported as an unknown key
    const path = `plugins.${name}`;
    if (typeof entry === "boolean") {
      plugins[name] = { enabled: entry, options: {} };
      continue;
    }
    if (entry !== null && entry !== undefined && !isMap(entry)) {
      r.report(
        path,
        "expected a mapping such as { enabled: true } or true/false",
      );
      continue;
    }
    const { enabled: enabledRaw, ...opts } = (entry ?? {}) as Record<
      string,
      unknown
    >;
    const sw: PluginSwitch = {
      enabled: r.bool(enabledRaw, `${path}.enabled`, true),
      options: opts,
    };
    if (plugin.validateOptions) {
      for (const p of plugin.validateOptions(opts)) {
        r.report(`${path}.${p.path}`, p.message);
      }
    } else {
      for (const key of Object.keys(opts)) {
        r.report(
          `${path}.${key}`,
          `unknown key; plugin "${name}" takes only "enabled"`,
        );
      }
    }
    plugins[name] = sw;
  }

  if (r.problems.length > 0) {
    return {
      ok: false,
      problems: redactProblems(r.problems, secretValues(raw)),
    };
  }
  const config: EdgespanConfig = {
    cluster: { id, secret },
    discovery: serve ? { endpoints, serve } : { endpoints },
    kubespan: {
      enabled,
      mtu,
      allowDownPeerBypass,
      advertiseKubernetesNetworks,
      harvestExtraEndpoints,
      filters,
      extraAnnouncedEndpoints: extra,
    },
    node: hostname === undefined
      ? { stateDir, ...machine }
      : { stateDir, hostname, ...machine },
    wireguard: { backend, interface: iface, listenPort },
    advertise: { networks, kubernetesNetworks: podNetworks },
    api: socket === undefined
      ? { listen: apiListen, allowNonLoopback }
      : { listen: apiListen, socket, allowNonLoopback },
    reconcileIntervalMs,
    log: { format, level },
    plugins,
  };
  return { ok: true, config };
}
