/**
 * Spec shapes of the resources the agent keeps. Names and fields follow the
 * KubeSpan resources (`talosctl get kubespan…`).
 *
 * @module
 */
export type { IdentitySpec } from "../identity/identity.ts";

/** Link state of a peer, as KubeSpan defines it. */
export type PeerState = "unknown" | "up" | "down";

/** KubeSpan part of an affiliate. */
export interface AffiliateKubeSpan {
  /** WireGuard public key, base64. */
  publicKey: string;
  /** Mesh address, no prefix length. */
  address: string;
  /** Networks routed to this node (masked prefixes). */
  additionalAddresses: string[];
  /** `ip:port` endpoints, in the order the node wants them tried. */
  endpoints: string[];
  /** Networks peers must not route to this node. */
  excludeAdvertisedNetworks: string[];
}

/** Control-plane part of an affiliate (affiliate field 8 on the wire). */
export interface AffiliateControlPlane {
  /** Port of the node's Kubernetes API server. */
  apiServerPort: number;
}

/** What an edgespan node adds to its affiliate (Talos ignores it). */
export interface AffiliateEdgespan {
  /**
   * The `ip:port` endpoints the node advertises itself; others in its list
   * were harvested for it by other nodes.
   */
  advertised: string[];
  /** Where the node reaches its peers now (their real UDP mappings). */
  observed: EndpointSpec[];
  /** The node relays WireGuard packets for pairs that cannot meet (peer-relay). */
  relay?: AffiliateRelayOffer;
  /**
   * The peers the node searches a path to now, each since when
   * (coordinated simultaneous open, endpoint-search). @default none
   */
  searching?: PeerSearchSpec[];
}

/** "The node searches `affiliateID` since `since`" (affiliate extension). */
export interface PeerSearchSpec {
  /** The searched node's id. */
  affiliateID: string;
  /** When the search began, ms since the epoch. */
  since: number;
}

/** A relay offer: the node forwards other pairs' ciphertext (affiliate extension). */
export interface AffiliateRelayOffer {
  /** UDP port of the relay's control service on its mesh address. */
  controlPort: number;
  /** Higher is tried first (ties by a hash of pair and relay). */
  priority: number;
}

/** A cluster member (local or remote), id = node id. */
export interface AffiliateSpec {
  nodeId: string;
  hostname: string;
  nodename: string;
  /** Talos machine type (`worker`, `controlplane`, `init`); remote values as sent. */
  machineType: string;
  operatingSystem: string;
  /** Node addresses (no prefix length). */
  addresses: string[];
  kubespan?: AffiliateKubeSpan;
  /**
   * Present on control-plane nodes (Talos sets it for `controlplane` and
   * `init` machines); Talos peers use the port to reach the node's API server.
   */
  controlPlane?: AffiliateControlPlane;
  /**
   * edgespan's extension of the payload (affiliate field 100, unknown to
   * Talos); absent for Talos nodes and for nodes that do not harvest.
   */
  edgespan?: AffiliateEdgespan;
  /** Which discovery plugins reported it (`local` for this node). */
  sources: string[];
}

/** A WireGuard peer to configure, id = peer public key. */
export interface PeerSpecSpec {
  /** Peer mesh address. */
  address: string;
  /** Prefixes routed to the peer (minimal, sorted, IPv4 first). */
  allowedIPs: string[];
  /** Endpoints to try, in order, after the accept-side filter. */
  endpoints: string[];
  label: string;
}

/**
 * One pair a relay box serves (`relaypairs`, on the relay only), id = the
 * two labels. Public facts only: labels, keys, the relay's leg ports, the
 * underlay address latched on each leg and the bytes forwarded.
 */
export interface RelayPairSpec {
  /** Labels of the two boxes, the lower public key first. */
  labels: [string, string];
  /** Public keys of the two boxes, lower first. */
  peers: [string, string];
  /** The relay's UDP leg port for each box. */
  ports: [number, number];
  /** `host:port` each leg latched onto (empty until that box sent). */
  latched: [string, string];
  /** Bytes each box sent through the relay (forwarded to the other). */
  bytes: [number, number];
  /** Datagrams forwarded, both ways. */
  packets: number;
  /** Datagrams dropped (foreign sender or over the byte rate). */
  dropped: number;
  /** When the pair was allocated (RFC 3339). */
  since: string;
}

/** Live status of a peer, id = peer public key. */
export interface PeerStatusSpec {
  /** Endpoint WireGuard uses now (may have roamed). */
  endpoint: string;
  label: string;
  state: PeerState;
  receiveBytes: number;
  transmitBytes: number;
  /** RFC 3339, or empty when there was never a handshake. */
  lastHandshakeTime: string;
  /** Endpoint last chosen by peer selection. */
  lastUsedEndpoint: string;
  /** RFC 3339, or empty. */
  lastEndpointChange: string;
  /**
   * Why the peer is in its state, when a peer selection plugin says so
   * (e.g. "no handshake on any of 3 endpoints for 42s"); absent otherwise.
   */
  reason?: string;
  /**
   * How the peer's packets travel: `direct`, or `relay:<label>` through
   * another box that forwards the pair's ciphertext; absent when no path
   * plugin runs.
   */
  path?: string;
  /** RFC 3339 time the peer entered its current state (this agent's view). */
  stateSince?: string;
  /**
   * RFC 3339 time the peer stopped being up; absent while it is up and when
   * it never was (this agent's view).
   */
  downSince?: string;
}

/** An endpoint a peer was actually reached at, id = peer public key. */
export interface EndpointSpec {
  affiliateID: string;
  endpoint: string;
}

/** Run state of a plugin. */
export type PluginRunState = "disabled" | "running" | "failed" | "stopped";

/** A plugin's switch and health, id = plugin name. */
export interface PluginStatusSpec {
  name: string;
  /** Its hook groups, comma-separated (`lifecycle` for a plugin without hooks). */
  kind: string;
  version: string;
  description: string;
  enabled: boolean;
  state: PluginRunState;
  /** Errors since start. */
  errors: number;
  /** Latest error message, empty when healthy. */
  lastError: string;
  /** RFC 3339 of the latest error, or empty. */
  lastErrorTime: string;
  /** `built-in`, or the file a site plugin was loaded from. */
  source?: string;
  /** sha256 (hex) of a site plugin's file as loaded; absent for built-ins. */
  sha256?: string;
  /** A site plugin's granted permissions (`net:cmdb.example:443`); `[]` = none. */
  permissions?: string[];
}
