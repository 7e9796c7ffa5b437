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
}
