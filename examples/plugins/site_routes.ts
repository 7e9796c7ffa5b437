/**
 * Example site plugin: route advertisement. Advertises the networks given
 * in its options, minus any the site lists as kept local, so a box routes
 * its site LANs for the mesh without touching the built-in plugin.
 *
 * ```yaml
 * plugins:
 *   site-routes:
 *     module: /etc/edgespan/plugins/site_routes.ts
 *     networks: [10.20.0.0/16, 10.21.0.0/16]
 *     keepLocal: [10.21.0.0/16]
 * ```
 *
 * It needs no permissions. Only `import type` here (see
 * `inventory_discovery.ts`).
 *
 * @module
 */
import type { ConfigProblem, SitePlugin } from "../../plugin.ts";

interface Options {
  networks: string[];
  keepLocal: string[];
}

const CIDR =
  /^(\d{1,3}\.){3}\d{1,3}\/([0-9]|[12][0-9]|3[0-2])$|^[0-9a-fA-F:]+\/\d{1,3}$/;

function prefixes(
  raw: unknown,
  key: string,
  problems: ConfigProblem[],
): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    problems.push({ path: key, message: "expected a list of CIDR prefixes" });
    return [];
  }
  raw.forEach((p, i) => {
    if (typeof p !== "string" || !CIDR.test(p)) {
      problems.push({
        path: `${key}[${i}]`,
        message: `${JSON.stringify(p)} is not a CIDR prefix`,
      });
    }
  });
  return raw as string[];
}

const plugin: SitePlugin<"routeAdvertisement", Options> = {
  apiVersion: 1,
  version: "1.0.0",
  description: "Advertises the site networks from its options",
  hooks: ["routeAdvertisement"],
  parseOptions(raw) {
    const problems: ConfigProblem[] = [];
    for (const key of Object.keys(raw)) {
      if (key !== "networks" && key !== "keepLocal") {
        problems.push({
          path: key,
          message: "unknown key; use networks, keepLocal",
        });
      }
    }
    const networks = prefixes(raw.networks, "networks", problems);
    const keepLocal = prefixes(raw.keepLocal, "keepLocal", problems);
    return problems.length
      ? { ok: false, problems }
      : { ok: true, options: { networks, keepLocal } };
  },
  create(_ctx, options) {
    return {
      routeAdvertisement: {
        advertise: () =>
          options.networks.filter((n) => !options.keepLocal.includes(n)),
      },
    };
  },
};

export default plugin;
