/**
 * Options of the `discovery-static` plugin.
 *
 * @module
 */
import type { ConfigProblem } from "../../core/config/types.ts";
import type { OptionsResult } from "../../core/plugins/types.ts";
import { decodeBase64 } from "../../core/encoding/base64.ts";
import {
  formatAddrPort,
  formatIP,
  formatPrefix,
  maskPrefix,
  parseAddrPort,
  parseIP,
  parsePrefix,
} from "../../core/netaddr/ip.ts";

/** One peer listed in the site config. */
export interface StaticPeer {
  /** WireGuard public key, base64 of 32 bytes. */
  publicKey: string;
  /** Mesh address. */
  address: string;
  /** `ip:port` endpoints in the order to try them. */
  endpoints: string[];
  /** Prefixes routed to the peer. */
  networks: string[];
  hostname?: string;
  /** Defaults to `static-<publicKey>`. */
  nodeId?: string;
}

/** Parsed options. */
export interface StaticDiscoveryOptions {
  peers: StaticPeer[];
}

function strings(
  v: unknown,
  path: string,
  parse: (s: string) => string,
  problems: ConfigProblem[],
): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    problems.push({ path, message: "must be a list" });
    return [];
  }
  const out: string[] = [];
  v.forEach((item, i) => {
    try {
      if (typeof item !== "string") throw new TypeError("must be a string");
      out.push(parse(item));
    } catch (err) {
      problems.push({
        path: `${path}[${i}]`,
        message: err instanceof Error ? err.message : String(err),
      });
    }
  });
  return out;
}

/** Validates `peers`. */
export function parseStaticOptions(
  raw: Record<string, unknown>,
): OptionsResult<StaticDiscoveryOptions> {
  const problems: ConfigProblem[] = [];
  const peers: StaticPeer[] = [];
  for (const key of Object.keys(raw)) {
    if (key !== "peers") {
      problems.push({ path: key, message: "unknown option" });
    }
  }
  const list = raw["peers"] ?? [];
  if (!Array.isArray(list)) {
    return {
      ok: false,
      problems: [{ path: "peers", message: "must be a list" }],
    };
  }
  list.forEach((item, i) => {
    const p = `peers[${i}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      problems.push({ path: p, message: "must be a map" });
      return;
    }
    const r = item as Record<string, unknown>;
    const before = problems.length;
    const publicKey = r["publicKey"];
    if (typeof publicKey !== "string") {
      problems.push({
        path: `${p}.publicKey`,
        message: "is required (base64 WireGuard key)",
      });
    } else {
      let ok = false;
      try {
        ok = decodeBase64(publicKey).length === 32;
      } catch {
        ok = false;
      }
      if (!ok) {
        problems.push({
          path: `${p}.publicKey`,
          message: "must be base64 of 32 bytes",
        });
      }
    }
    let address = "";
    if (typeof r["address"] !== "string") {
      problems.push({
        path: `${p}.address`,
        message: "is required (mesh address)",
      });
    } else {
      try {
        address = formatIP(parseIP(r["address"]));
      } catch (err) {
        problems.push({
          path: `${p}.address`,
          message: (err as Error).message,
        });
      }
    }
    const endpoints = strings(
      r["endpoints"],
      `${p}.endpoints`,
      (s) => formatAddrPort(parseAddrPort(s)),
      problems,
    );
    const networks = strings(
      r["networks"],
      `${p}.networks`,
      (s) => formatPrefix(maskPrefix(parsePrefix(s))),
      problems,
    );
    for (const k of ["hostname", "nodeId"] as const) {
      if (r[k] !== undefined && typeof r[k] !== "string") {
        problems.push({ path: `${p}.${k}`, message: "must be a string" });
      }
    }
    for (const k of Object.keys(r)) {
      if (
        !["publicKey", "address", "endpoints", "networks", "hostname", "nodeId"]
          .includes(k)
      ) problems.push({ path: `${p}.${k}`, message: "unknown field" });
    }
    if (problems.length !== before) return;
    const peer: StaticPeer = {
      publicKey: publicKey as string,
      address,
      endpoints,
      networks,
    };
    if (typeof r["hostname"] === "string") peer.hostname = r["hostname"];
    if (typeof r["nodeId"] === "string") peer.nodeId = r["nodeId"];
    peers.push(peer);
  });
  return problems.length
    ? { ok: false, problems }
    : { ok: true, options: { peers } };
}
