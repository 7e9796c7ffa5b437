/**
 * The `discovery` section: the endpoints to register with and, optionally,
 * the embedded discovery server (`discovery.serve`).
 *
 * @module
 */
import type { DiscoveryConfig, DiscoveryServeConfig } from "../types.ts";
import type { RawMap, Reader } from "../reader.ts";
import { parseDuration } from "../duration.ts";
import {
  checkedList,
  discoveryUrlProblem,
  hostPortProblem,
} from "./_checks.ts";

const KEYS = ["endpoints", "serve"] as const;

const SERVE_KEYS = [
  "listen",
  "tlsCert",
  "tlsKey",
  "stateFile",
  "maxClusters",
  "maxAffiliates",
  "gcInterval",
] as const;

/** Reads `discovery`; `serve` is present only when the file names it. */
export function readDiscovery(r: Reader, raw: unknown): DiscoveryConfig {
  const discovery = r.map(raw, "discovery", KEYS);
  const endpoints = checkedList(
    r,
    discovery.endpoints,
    "discovery.endpoints",
    discoveryUrlProblem,
  );
  if (discovery.serve === undefined || discovery.serve === null) {
    return { endpoints };
  }
  return { endpoints, serve: readServe(r, discovery.serve) };
}

function readServe(r: Reader, raw: unknown): DiscoveryServeConfig {
  const s = r.map(raw, "discovery.serve", SERVE_KEYS);
  const listen = r.string(s.listen, "discovery.serve.listen", "");
  if (!listen) {
    r.report(
      "discovery.serve.listen",
      "is required (host:port to serve discovery on)",
    );
  } else {
    const p = hostPortProblem(listen);
    if (p) r.report("discovery.serve.listen", p);
  }
  const serve: DiscoveryServeConfig = { listen };
  const cert = r.string(s.tlsCert, "discovery.serve.tlsCert");
  const key = r.string(s.tlsKey, "discovery.serve.tlsKey");
  if ((cert === undefined) !== (key === undefined)) {
    r.report(
      cert === undefined ? "discovery.serve.tlsCert" : "discovery.serve.tlsKey",
      "tlsCert and tlsKey must be given together",
    );
  }
  if (cert !== undefined) serve.tlsCert = cert;
  if (key !== undefined) serve.tlsKey = key;
  const stateFile = r.string(s.stateFile, "discovery.serve.stateFile");
  if (stateFile !== undefined) serve.stateFile = stateFile;
  for (const k of ["maxClusters", "maxAffiliates"] as const) {
    if (s[k] === undefined || s[k] === null) continue;
    serve[k] = r.int(s[k], `discovery.serve.${k}`, 0, {
      min: 1,
      max: 1_000_000,
    });
  }
  const gcIntervalMs = readGcInterval(r, s);
  if (gcIntervalMs !== undefined) serve.gcIntervalMs = gcIntervalMs;
  return serve;
}

function readGcInterval(r: Reader, s: RawMap): number | undefined {
  if (s.gcInterval === undefined || s.gcInterval === null) return undefined;
  try {
    const v = s.gcInterval;
    if (typeof v !== "string" && typeof v !== "number") {
      throw new TypeError("expected a duration such as 10s");
    }
    const ms = parseDuration(v);
    if (ms < 100) throw new RangeError(`${s.gcInterval} is below 100ms`);
    return ms;
  } catch (e) {
    r.report("discovery.serve.gcInterval", (e as Error).message);
    return undefined;
  }
}
