/**
 * The last known peers, kept in `<stateDir>/discovery-cache.json` so that a
 * reboot while every discovery service is down still brings the mesh up.
 * It holds only what peers publish (public data), written atomically, 0600.
 *
 * @module
 */
import type { AffiliateSpec } from "../../core/resources/specs.ts";
import { writeFileAtomic } from "./server/snapshot.ts";
import { readBoundedText } from "../../core/fs/read_bounded.ts";

/** Largest peer cache read back (1024 peers take about 3 MiB). */
const CACHE_MAX_BYTES = 64 << 20;

/** File name inside the state dir. */
export const CACHE_FILE = "discovery-cache.json";

interface CacheFile {
  version: 1;
  savedAt: number;
  affiliates: AffiliateSpec[];
}

const isString = (v: unknown): v is string => typeof v === "string";
const isStrings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every(isString);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks every field the mesh reads, so one damaged entry is dropped alone. */
function isAffiliate(v: unknown): v is AffiliateSpec {
  if (!isObject(v)) return false;
  const scalars = ["nodeId", "hostname", "nodename", "machineType"] as const;
  if (!scalars.every((k) => isString(v[k]))) return false;
  if (!isString(v.operatingSystem) || !v.nodeId) return false;
  if (!isStrings(v.addresses) || !isStrings(v.sources)) return false;
  const ks = v.kubespan;
  if (ks !== undefined) {
    if (!isObject(ks) || !isString(ks.publicKey) || !isString(ks.address)) {
      return false;
    }
    const lists = [
      "additionalAddresses",
      "endpoints",
      "excludeAdvertisedNetworks",
    ] as const;
    if (!lists.every((k) => isStrings(ks[k]))) return false;
  }
  const cp = v.controlPlane;
  if (cp !== undefined) {
    if (!isObject(cp) || !Number.isInteger(cp.apiServerPort)) return false;
  }
  return true;
}

/** Keeps edgespan's extension only when well formed (never observations). */
function withValidExtension(a: AffiliateSpec): AffiliateSpec {
  const ext: unknown = a.edgespan;
  if (ext === undefined) return a;
  const { edgespan: _, ...rest } = a;
  if (!isObject(ext) || !isStrings(ext.advertised)) return rest;
  return { ...rest, edgespan: { advertised: ext.advertised, observed: [] } };
}

/**
 * Reads the cache; a missing or damaged file gives an empty list, a damaged
 * entry is dropped alone.
 */
export async function readCache(stateDir: string): Promise<AffiliateSpec[]> {
  try {
    const raw = JSON.parse(
      (await readBoundedText(`${stateDir}/${CACHE_FILE}`, {
        maxBytes: CACHE_MAX_BYTES,
      })).text,
    ) as CacheFile;
    if (raw?.version !== 1 || !Array.isArray(raw.affiliates)) return [];
    return raw.affiliates.filter(isAffiliate).map(withValidExtension);
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
    // Observations are live facts; after a restart they would be stale.
    affiliates: affiliates.map((a) =>
      a.edgespan ? { ...a, edgespan: { ...a.edgespan, observed: [] } } : a
    ),
  };
  await writeFileAtomic(`${stateDir}/${CACHE_FILE}`, JSON.stringify(body));
}
