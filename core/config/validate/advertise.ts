/**
 * The `advertise` section: extra networks and Kubernetes pod networks this
 * node routes for.
 *
 * @module
 */
import type { AdvertiseConfig } from "../types.ts";
import type { Reader } from "../reader.ts";
import { checkedList, prefixProblem } from "./_checks.ts";

const KEYS = ["networks", "kubernetesNetworks"] as const;

/** Reads `advertise`; each list item must be a prefix or an address. */
export function readAdvertise(r: Reader, raw: unknown): AdvertiseConfig {
  const adv = r.map(raw, "advertise", KEYS);
  const networks = checkedList(
    r,
    adv.networks,
    "advertise.networks",
    prefixProblem,
  );
  const kubernetesNetworks = checkedList(
    r,
    adv.kubernetesNetworks,
    "advertise.kubernetesNetworks",
    prefixProblem,
  );
  return { networks, kubernetesNetworks };
}
