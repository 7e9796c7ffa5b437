/**
 * The commented starter config that `edgespan gen config` prints, with a
 * fresh cluster id and secret.
 *
 * @module
 */
import { encodeBase64 } from "../encoding/base64.ts";

/** Options for {@linkcode renderStarterConfig}. */
export interface StarterConfigOptions {
  /** Source of random bytes. @default crypto.getRandomValues */
  random?: (n: number) => Uint8Array;
  /** Discovery service URL to write. @default "http://127.0.0.1:3000/" */
  discoveryEndpoint?: string;
  /** State directory to write. @default "/var/lib/edgespan" */
  stateDir?: string;
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * A commented starter config with a fresh cluster id and a fresh 32-byte
 * secret. Every box of a site group must share the `cluster` section.
 */
export function renderStarterConfig(
  options: StarterConfigOptions = {},
): string {
  const random = options.random ?? randomBytes;
  const id = encodeBase64(random(32));
  const secret = encodeBase64(random(32));
  const endpoint = options.discoveryEndpoint ?? "http://127.0.0.1:3000/";
  const stateDir = options.stateDir ?? "/var/lib/edgespan";
  return `# edgespan site configuration. Copy the same cluster section to every box of
# the site group; everything else may differ per box.

cluster:
  # Opaque cluster id. Its text is hashed into the mesh's IPv6 ULA prefix, so
  # changing it renumbers the mesh.
  id: ${id}
  # 32 random bytes, standard base64: encrypts what the discovery service
  # stores and is the WireGuard preshared key. Keep it secret.
  secret: ${secret}

discovery:
  # Discovery services to publish to and watch (http:// is plaintext,
  # https:// and grpc:// use TLS). Several may be listed; results are merged.
  endpoints:
    - ${endpoint}
  # Uncomment to host a discovery service on this box for the whole site.
  # serve:
  #   listen: 0.0.0.0:3000
  #   stateFile: ${stateDir}/discovery-state.json

kubespan:
  enabled: true
  # WireGuard MTU: underlying MTU minus 80 (minimum 1280).
  mtu: 1420
  # true lets traffic to a peer that is down leave unencrypted.
  allowDownPeerBypass: false
  # true advertises advertise.kubernetesNetworks (pod CIDRs) to peers.
  advertiseKubernetesNetworks: false
  # true reports the endpoints peers were reached at back to discovery.
  harvestExtraEndpoints: false
  filters:
    # Which of this box's addresses to advertise, in order; "!" excludes.
    # endpoints: ["0.0.0.0/0", "!192.168.0.0/16", "::/0"]
    # Which endpoints received from peers to try.
    # peerEndpoints: ["0.0.0.0/0", "::/0"]
    # Networks peers must not route to this box.
    excludeAdvertisedNetworks: []
  # Extra ip:port endpoints to advertise (e.g. a port forward on the router).
  extraAnnouncedEndpoints: []

node:
  stateDir: ${stateDir}
  # hostname: edge-01
  # Machine type Talos peers see: worker, controlplane or init.
  # machineType: worker
  # true publishes control-plane data (the API server port), as Talos does
  # for controlplane and init machines (the default for those types).
  # controlPlane: false
  # apiServerPort: 6443

wireguard:
  # auto uses kernel WireGuard when present, else wireguard-go.
  backend: auto
  interface: kubespan
  listenPort: 51820

advertise:
  # Site LAN prefixes that peers should route through this box.
  networks: []
  kubernetesNetworks: []

api:
  listen: 127.0.0.1:7443
  # socket: /run/edgespan.sock

reconcile:
  interval: 30s

log:
  format: json
  level: info

# Each plugin can be switched per site: <name>: true|false or
# <name>: { enabled: true, ...options }. See \`edgespan get plugins\`.
plugins: {}
`;
}
