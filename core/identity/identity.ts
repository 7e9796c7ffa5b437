/**
 * The node's mesh identity: key pair, ULA prefix and node address derived
 * from the cluster id and the hardware address.
 *
 * @module
 */
import { formatPrefix, type Prefix } from "../netaddr/ip.ts";
import { firstHardwareAddr, type HardwareAddr } from "./hardware_addr.ts";
import type { WgKey } from "./keys.ts";
import {
  IdentityError,
  loadOrCreateKeyPair,
  loadOrCreateNodeId,
} from "./store.ts";
import { formatMac, nodeAddress, ulaPrefix } from "./ula.ts";

/** The node's mesh identity, as the `identity` resource shows it (id `local`). */
export interface IdentitySpec {
  /** Mesh address, `/128`. */
  address: string;
  /** Cluster mesh prefix, `/64`. */
  subnet: string;
  /** Sensitive: never printed, logged or served. */
  privateKey: WgKey;
  publicKey: WgKey;
}

/** Everything the agent derives about itself at start. */
export interface LocalIdentity {
  spec: IdentitySpec;
  nodeId: string;
  /** Link whose MAC seeded the address. */
  hardwareAddr: HardwareAddr;
  subnetPrefix: Prefix;
  addressPrefix: Prefix;
}

/** Options for {@linkcode resolveIdentity}. */
export interface ResolveIdentityOptions {
  /** Links never used as the MAC source. @default [] */
  excludeLinks?: readonly string[];
  /** sysfs links directory. @default "/sys/class/net" */
  sysfsRoot?: string;
}

/**
 * Derives the subnet and address (every start, never trusted from the file)
 * and loads or creates the key pair and node id in the state directory.
 */
export async function resolveIdentity(
  input: { clusterId: string; stateDir: string },
  options: ResolveIdentityOptions = {},
): Promise<LocalIdentity> {
  const hw = await firstHardwareAddr({
    ...(options.sysfsRoot ? { root: options.sysfsRoot } : {}),
    exclude: options.excludeLinks ?? [],
  });
  if (!hw) {
    throw new IdentityError(
      `${input.stateDir}`,
      "no Ethernet link with a hardware address was found to derive the mesh address from; " +
        "add a NIC (or a veth link inside a network namespace)",
    );
  }
  const subnetPrefix = await ulaPrefix(input.clusterId);
  const addressPrefix = nodeAddress(subnetPrefix, hw.mac);
  const address = formatPrefix(addressPrefix);
  const subnet = formatPrefix(subnetPrefix);
  const keys = await loadOrCreateKeyPair(input.stateDir, { address, subnet });
  const nodeId = await loadOrCreateNodeId(input.stateDir);
  return {
    spec: { address, subnet, ...keys },
    nodeId,
    hardwareAddr: hw,
    subnetPrefix,
    addressPrefix,
  };
}

/** One-line description for logs (no secrets). */
export function describeIdentity(id: LocalIdentity): string {
  return `public key ${id.spec.publicKey}, address ${id.spec.address} (from ${id.hardwareAddr.link} ${
    formatMac(id.hardwareAddr.mac)
  })`;
}
