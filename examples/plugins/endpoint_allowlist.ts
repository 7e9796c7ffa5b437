/**
 * Example site plugin: an endpoint filter that accepts peer endpoints only
 * inside the site's allowed IPv4 networks (e.g. its WAN ranges), and
 * passes this node's own addresses through.
 *
 * ```yaml
 * plugins:
 *   allowlist:
 *     module: /etc/edgespan/plugins/endpoint_allowlist.ts
 *     allow: [192.0.2.0/24, 198.51.100.0/24]
 * ```
 *
 * It needs no permissions. Only `import type` here (see
 * `inventory_discovery.ts`).
 *
 * @module
 */
import type { ConfigProblem, SitePlugin } from "../../plugin.ts";

interface Options {
  allow: { base: number; mask: number }[];
}

function ipv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

function maskOf(bits: number): number {
  return bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
}

/** Whether `ip:port` is inside one of `allow`. */
export function allowed(endpoint: string, allow: Options["allow"]): boolean {
  const ip = ipv4(endpoint.replace(/:\d+$/, ""));
  return ip !== undefined &&
    allow.some((a) => ((ip & a.mask) >>> 0) === a.base);
}

const plugin: SitePlugin<"endpointFilter", Options> = {
  apiVersion: 1,
  version: "1.0.0",
  description: "Accepts peer endpoints inside the allowed IPv4 networks only",
  hooks: ["endpointFilter"],
  parseOptions(raw) {
    const problems: ConfigProblem[] = [];
    for (const key of Object.keys(raw)) {
      if (key !== "allow") {
        problems.push({ path: key, message: "unknown key; use allow" });
      }
    }
    const list = Array.isArray(raw.allow) ? raw.allow : [];
    if (!Array.isArray(raw.allow)) {
      problems.push({
        path: "allow",
        message: "expected a list of IPv4 prefixes",
      });
    }
    const allow = list.flatMap((p, i) => {
      const [addr, bits] = String(p).split("/");
      const base = ipv4(addr ?? "");
      const n = Number(bits);
      if (base === undefined || !/^\d+$/.test(bits ?? "") || n > 32) {
        problems.push({
          path: `allow[${i}]`,
          message: `${JSON.stringify(p)} is not an IPv4 prefix`,
        });
        return [];
      }
      return [{ base: (base & maskOf(n)) >>> 0, mask: maskOf(n) }];
    });
    return problems.length
      ? { ok: false, problems }
      : { ok: true, options: { allow } };
  },
  create(_ctx, options) {
    return {
      endpointFilter: {
        advertised: (addresses) => [...addresses],
        accepted: (endpoints) =>
          endpoints.filter((e) => allowed(e, options.allow)),
      },
    };
  },
};

export default plugin;
