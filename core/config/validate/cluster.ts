/**
 * The `cluster` section: the cluster id and the shared secret.
 *
 * @module
 */
import type { ClusterConfig } from "../types.ts";
import type { Reader } from "../reader.ts";
import { secretProblem } from "./_checks.ts";

const KEYS = ["id", "secret"] as const;

/** Reads `cluster`, reporting a missing or malformed id or secret. */
export function readCluster(r: Reader, raw: unknown): ClusterConfig {
  const cluster = r.map(raw, "cluster", KEYS);
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
  return { id, secret };
}
