/**
 * The site configuration: one YAML file per site.
 *
 * Field names follow KubeSpan where KubeSpan has the field. Everything here is
 * the validated, defaulted form; {@linkcode validateConfig} builds it from raw
 * YAML.
 *
 * @module
 */

/** Which WireGuard implementation drives the mesh link. */
export type WireGuardBackendName = "auto" | "kernel" | "userspace";

/**
 * Machine types Talos knows (`machine.type`); `init` and `controlplane` are
 * control-plane machines.
 */
export type MachineType = "worker" | "controlplane" | "init";

/** Log line format. */
export type LogFormat = "json" | "logfmt";

/** Log threshold. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Cluster identity shared by every box of a site group. */
export interface ClusterConfig {
  /** Opaque cluster id; its text is hashed into the ULA prefix. */
  id: string;
  /** Standard base64 of exactly 32 bytes; AES-256 key and WireGuard PSK. Sensitive. */
  secret: string;
}

/** The discovery services this box publishes to and watches. */
export interface DiscoveryConfig {
  /**
   * Service URLs (`http://` is plaintext, `https://` and `grpc://` use TLS).
   * @default []
   */
  endpoints: string[];
  /** Host an embedded discovery service on this box. Absent = do not host one. */
  serve?: DiscoveryServeConfig;
}

/** Embedded discovery service settings. */
export interface DiscoveryServeConfig {
  /** `host:port` to listen on. */
  listen: string;
  /** PEM certificate file; with `tlsKey`, serve TLS instead of h2c. */
  tlsCert?: string;
  /** PEM key file. */
  tlsKey?: string;
  /** File the service snapshots its state to, so a restart loses nothing. */
  stateFile?: string;
  /** Clusters held in all. Absent = the service default (1024). */
  maxClusters?: number;
  /** Affiliates over all clusters. Absent = the service default (4096). */
  maxAffiliates?: number;
  /** How often expired affiliates are dropped, in ms (`gcInterval: 10s`). */
  gcIntervalMs?: number;
}

/** KubeSpan endpoint and network filters. */
export interface KubeSpanFilters {
  /**
   * CIDRs or bare IPs, `!` to exclude, applied in order to the endpoints this
   * box advertises. Absent = no filtering; present and empty = advertise none.
   */
  endpoints?: string[];
  /** Same syntax, applied to the endpoints peers send us. Absent = accept all. */
  peerEndpoints?: string[];
  /** Prefixes peers must not route to this box. @default [] */
  excludeAdvertisedNetworks: string[];
}

/** The KubeSpan options, with KubeSpan's names and defaults. */
export interface KubeSpanConfig {
  /** @default true */
  enabled: boolean;
  /** WireGuard link MTU; at least 1280. @default 1420 */
  mtu: number;
  /** Let traffic to down peers leave unencrypted. @default false */
  allowDownPeerBypass: boolean;
  /** Advertise `advertise.kubernetesNetworks` (pod CIDRs). @default false */
  advertiseKubernetesNetworks: boolean;
  /** Report observed peer endpoints back to discovery. @default false */
  harvestExtraEndpoints: boolean;
  filters: KubeSpanFilters;
  /** `ip:port` endpoints appended to what this box advertises. @default [] */
  extraAnnouncedEndpoints: string[];
}

/** Per-box settings that KubeSpan does not have. */
export interface NodeConfig {
  /** Where the identity, node id, token and caches live. @default "/var/lib/edgespan" */
  stateDir: string;
  /** Name shown to peers. Absent = the system host name. */
  hostname?: string;
  /**
   * Machine type published to peers, as Talos names it.
   * @default "controlplane" when `controlPlane` is true, else "worker"
   */
  machineType: MachineType;
  /**
   * Publish control-plane data (affiliate field 8), as Talos does for
   * `controlplane` and `init` machines; needs one of those machine types.
   * @default true for `controlplane`/`init` machines, else false
   */
  controlPlane: boolean;
  /** Kubernetes API server port published with `controlPlane`. @default 6443 */
  apiServerPort: number;
}

/** The WireGuard link. */
export interface WireGuardConfig {
  /** @default "auto" */
  backend: WireGuardBackendName;
  /** Link name. @default "kubespan" */
  interface: string;
  /** UDP listen port. @default 51820 */
  listenPort: number;
}

/** Networks this box routes for the mesh. */
export interface AdvertiseConfig {
  /** Site LAN prefixes advertised to peers. @default [] */
  networks: string[];
  /** Pod CIDRs, advertised only with `kubespan.advertiseKubernetesNetworks`. @default [] */
  kubernetesNetworks: string[];
}

/** The local HTTP API. */
export interface ApiConfig {
  /** `host:port`. @default "127.0.0.1:7443" */
  listen: string;
  /** Optional unix socket path served in addition to TCP. */
  socket?: string;
  /** Allow `listen` on a non-loopback address. @default false */
  allowNonLoopback: boolean;
}

/** Logging. */
export interface LogConfig {
  /** @default "json" */
  format: LogFormat;
  /** @default "info" */
  level: LogLevel;
}

/** One entry of the `plugins:` map. */
export interface PluginSwitch {
  enabled: boolean;
  /** Plugin-specific options, validated by the plugin. */
  options: Record<string, unknown>;
  /** A site plugin's file (absolute `.js`/`.ts` path); absent for built-ins. */
  module?: string;
  /** What a site plugin's worker may do; absent = nothing. */
  permissions?: PluginPermissions;
}

/**
 * Deno permissions granted to a site plugin's worker, by kind; a kind left
 * out is denied (`run`, `ffi` and `sys` are never granted).
 */
export interface PluginPermissions {
  /** Paths it may read. */
  read?: string[];
  /** Paths it may write. */
  write?: string[];
  /** `host` or `host:port` it may connect to. */
  net?: string[];
  /** Environment variables it may read. */
  env?: string[];
}

/** The whole validated site configuration. */
export interface EdgespanConfig {
  cluster: ClusterConfig;
  discovery: DiscoveryConfig;
  kubespan: KubeSpanConfig;
  node: NodeConfig;
  wireguard: WireGuardConfig;
  advertise: AdvertiseConfig;
  api: ApiConfig;
  /** Reconcile tick in milliseconds. @default 30000 */
  reconcileIntervalMs: number;
  /**
   * While peers wait for their first handshake, run extra passes 20–250 ms
   * apart (for at most 15 s without progress), so a peer is seen `up` as its
   * handshake lands instead of at the next tick. Off = KubeSpan's cadence:
   * passes only on the tick and on input changes. @default true
   */
  handshakePoll: boolean;
  log: LogConfig;
  /** Plugin switches by plugin name; plugins not listed use their own default. */
  plugins: Record<string, PluginSwitch>;
}

/** One validation finding: where and why. */
export interface ConfigProblem {
  /** Dotted field path, e.g. `kubespan.mtu`. */
  path: string;
  /** What is wrong and what to do, e.g. `1200 is below the minimum 1280`. */
  message: string;
}

/** KubeSpan's default MTU. */
export const DEFAULT_MTU = 1420;
/** Smallest MTU an IPv6 link may have. */
export const MIN_MTU = 1280;
/** KubeSpan's fixed port, our default. */
export const DEFAULT_LISTEN_PORT = 51820;
/** KubeSpan's peer reconcile tick. */
export const DEFAULT_RECONCILE_INTERVAL_MS = 30_000;
/** Default local API address. */
export const DEFAULT_API_LISTEN = "127.0.0.1:7443";
/** Default state directory. */
export const DEFAULT_STATE_DIR = "/var/lib/edgespan";
