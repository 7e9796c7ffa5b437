/**
 * The last known peers, kept in `<stateDir>/discovery-cache.json` so that a
 * reboot while every discovery service is down still brings the mesh up.
 * It holds only what peers publish (public data), written atomically, 0600.
 *
 * @module
 */
import type { AffiliateSpec } from "../../core/resources/specs.ts";
import { writeFileAtomic } from "./server/snapshot.ts";

/** File name inside the state dir. */
export const CACHE_FILE = "discovery-cache.json";

interface CacheFile {
  version: 1;
  savedAt: number;
  affiliates: AffiliateSpec[];
}

function isAffiliate(v: unknown): v is AffiliateSpec {
  const a = v as AffiliateSpec;
  return typeof a === "object" && a !== null && typeof a.nodeId === "string" &&
    Array.isArray(a.addresses) && Array.isArray(a.sources);
}

/** Reads the cache; a missing or damaged file gives an empty list. */
export async function readCache(stateDir: string): Promise<AffiliateSpec[]> {
  try {
    const raw = JSON.parse(
      await Deno.readTextFile(`${stateDir}/${CACHE_FILE}`),
    ) as CacheFile;
    if (raw?.version !== 1 || !Array.isArray(raw.affiliates)) return [];
    return raw.affiliates.filter(isAffiliate);
  } catch {
    return [];
  }
}

/** Writes the cache atomically. */
export async function writeCache(
  stateDir: string,
  affiliates: readonly AffiliateSpec[],
  now: number,
): Promise<void> {
  const body: CacheFile = {
    version: 1,
    savedAt: now,
    affiliates: [...affiliates],
  };
  await writeFileAtomic(`${stateDir}/${CACHE_FILE}`, JSON.stringify(body));
}
