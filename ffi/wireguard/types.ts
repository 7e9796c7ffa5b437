/**
 * The WireGuard device interface shared by both backends (kernel generic
 * netlink and wireguard-go's UAPI socket), shaped like wgctrl: plain data,
 * absent = leave unchanged, explicit replace/remove flags.
 *
 * @module
 */

/** A peer as read back from a device. */
export interface WgPeer {
  /** Base64 public key. */
  publicKey: string;
  /** Whether a preshared key is set (the key itself is never read back into logs). */
  hasPresharedKey: boolean;
  /** `ip:port` / `[ip]:port`, or empty when none is known. */
  endpoint: string;
  /** Seconds; 0 = off. */
  persistentKeepaliveInterval: number;
  /** Milliseconds since the epoch, 0 = never. */
  lastHandshakeTime: number;
  receiveBytes: number;
  transmitBytes: number;
  /** Prefixes, canonical text, sorted as the device returned them. */
  allowedIPs: string[];
  protocolVersion: number;
}

/** A device as read back. */
export interface WgDevice {
  name: string;
  /** Base64 public key ("" when no private key is set). */
  publicKey: string;
  listenPort: number;
  firewallMark: number;
  peers: WgPeer[];
}

/** Desired configuration of one peer. */
export interface WgPeerConfig {
  publicKey: string;
  /** Remove this peer instead of configuring it. */
  remove?: boolean;
  /** Only update an existing peer; do not create it. */
  updateOnly?: boolean;
  /** Base64 preshared key; absent = unchanged. */
  presharedKey?: string;
  /** `ip:port`; absent = unchanged (lets a roamed endpoint stay). */
  endpoint?: string;
  /** Seconds; absent = unchanged. */
  persistentKeepaliveInterval?: number;
  /** Replace the allowed IPs with `allowedIPs` instead of adding to them. */
  replaceAllowedIPs?: boolean;
  allowedIPs?: string[];
}

/** Desired configuration of a device. */
export interface WgDeviceConfig {
  /** Base64 private key; absent = unchanged. Never logged. */
  privateKey?: string;
  listenPort?: number;
  firewallMark?: number;
  /** Remove every peer not listed in `peers`. */
  replacePeers?: boolean;
  peers?: WgPeerConfig[];
}

/** One WireGuard backend. */
export interface WgBackend {
  /** `kernel` or `userspace`. */
  readonly kind: "kernel" | "userspace";
  /** Reads a device with all peers and stats. Throws NotFoundError-like errors for a missing device. */
  device(name: string): Promise<WgDevice>;
  /** Applies a configuration (split into several messages where needed). */
  configure(name: string, config: WgDeviceConfig): Promise<void>;
  /** Releases sockets. */
  close(): void;
}
