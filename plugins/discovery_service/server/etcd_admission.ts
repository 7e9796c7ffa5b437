/**
 * Which new affiliates of a batch fit in the limits (pure): the per-cluster
 * limit, the total over all clusters and the cluster total, counted from a
 * mirror that is exact at one etcd revision. The etcd store then writes the
 * admitted ones in a transaction that holds only if no affiliate was
 * created after that revision, so the counts were right.
 *
 * @module
 */
import type { DiscoveryLimits } from "./limits.ts";

/** The counts a batch is admitted against. */
export interface AdmissionCounts {
  /** Affiliates over all clusters. */
  total: number;
  /** Clusters counted (with affiliates, or watched here). */
  clusters: number;
  /** Affiliates of one cluster. */
  inCluster(clusterId: string): number;
  /** Whether the cluster is among `clusters` already. */
  known(clusterId: string): boolean;
}

/** Splits `items` into those that fit, in order, and those refused (with the message). */
export function admitCreations<T extends { clusterId: string }>(
  items: readonly T[],
  counts: AdmissionCounts,
  limits: Pick<
    DiscoveryLimits,
    "affiliatesMax" | "totalAffiliatesMax" | "clustersMax"
  >,
): { admitted: T[]; refused: { item: T; why: string }[] } {
  let total = counts.total;
  let clusters = counts.clusters;
  const added = new Map<string, number>();
  const admitted: T[] = [];
  const refused: { item: T; why: string }[] = [];
  for (const item of items) {
    const c = item.clusterId;
    const isNew = !counts.known(c) && !added.has(c);
    let why: string | undefined;
    if (isNew && clusters >= limits.clustersMax) {
      why = `too many clusters in the service (limit ${limits.clustersMax})`;
    } else if (
      counts.inCluster(c) + (added.get(c) ?? 0) >= limits.affiliatesMax
    ) {
      why = "too many affiliates in the cluster";
    } else if (total >= limits.totalAffiliatesMax) {
      why =
        `too many affiliates in the service (limit ${limits.totalAffiliatesMax})`;
    }
    if (why) {
      refused.push({ item, why });
      continue;
    }
    total++;
    if (isNew) clusters++;
    added.set(c, (added.get(c) ?? 0) + 1);
    admitted.push(item);
  }
  return { admitted, refused };
}
