/**
 * Example site plugin: discovery from the site's own inventory, a JSON file
 * listing the boxes (for sites that keep their boxes in a CMDB export).
 *
 * ```yaml
 * plugins:
 *   inventory:
 *     module: /etc/edgespan/plugins/inventory_discovery.ts
 *     permissions: { read: ["/etc/edgespan/inventory.json"] }
 *     file: /etc/edgespan/inventory.json
 *     refresh: 10000   # ms between reads of the file
 * ```
 *
 * The file is a list of `{ nodeId, hostname, publicKey, address,
 * endpoints, networks? }`. The plugin re-reads it every `refresh` ms and
 * asks the agent for a pass when it changed. It only reads: this node is
 * published by whoever writes the inventory.
 *
 * Only `import type` here: a site plugin is one file (the agent loads its
 * bytes, so other imports are not resolved; bundle them in).
 *
 * @module
 */
import type { AffiliateSpec, ConfigProblem, SitePlugin } from "../../plugin.ts";

/** One box of the inventory. */
interface InventoryEntry {
  nodeId: string;
  hostname: string;
  publicKey: string;
  address: string;
  endpoints: string[];
  networks?: string[];
}

interface Options {
  file: string;
  refresh: number;
}

function entryProblem(e: unknown, i: number): ConfigProblem | undefined {
  const x = e as Partial<InventoryEntry> | null;
  const strings = ["nodeId", "hostname", "publicKey", "address"] as const;
  if (typeof x !== "object" || x === null) {
    return { path: `[${i}]`, message: "is not an object" };
  }
  for (const k of strings) {
    if (typeof x[k] !== "string" || !x[k]) {
      return { path: `[${i}].${k}`, message: "is missing" };
    }
  }
  if (!Array.isArray(x.endpoints)) {
    return { path: `[${i}].endpoints`, message: "is not a list" };
  }
  return undefined;
}

/** Parses the inventory text into affiliates; throws with the entry's index. */
export function parseInventory(text: string): AffiliateSpec[] {
  const list = JSON.parse(text) as unknown;
  if (!Array.isArray(list)) throw new Error("the inventory is not a JSON list");
  return list.map((raw, i) => {
    const problem = entryProblem(raw, i);
    if (problem) {
      throw new Error(`inventory entry ${problem.path} ${problem.message}`);
    }
    const e = raw as InventoryEntry;
    return {
      nodeId: e.nodeId,
      hostname: e.hostname,
      nodename: e.hostname,
      machineType: "worker",
      operatingSystem: "inventory",
      addresses: e.endpoints.map((ep) =>
        ep.replace(/:\d+$/, "").replace(/^\[|\]$/g, "")
      ),
      kubespan: {
        publicKey: e.publicKey,
        address: e.address,
        additionalAddresses: e.networks ?? [],
        endpoints: e.endpoints,
        excludeAdvertisedNetworks: [],
      },
      sources: [],
    };
  });
}

const plugin: SitePlugin<"discovery", Options> = {
  apiVersion: 1,
  version: "1.0.0",
  description: "Peers from the site's inventory file",
  hooks: ["discovery"],
  parseOptions(raw) {
    const problems: ConfigProblem[] = [];
    for (const key of Object.keys(raw)) {
      if (key !== "file" && key !== "refresh") {
        problems.push({ path: key, message: "unknown key; use file, refresh" });
      }
    }
    if (typeof raw.file !== "string" || !raw.file.startsWith("/")) {
      problems.push({
        path: "file",
        message: "give the inventory's absolute path",
      });
    }
    const refresh = raw.refresh ?? 10_000;
    if (typeof refresh !== "number" || refresh < 100) {
      problems.push({ path: "refresh", message: "milliseconds, at least 100" });
    }
    return problems.length ? { ok: false, problems } : {
      ok: true,
      options: { file: raw.file as string, refresh: refresh as number },
    };
  },
  create(ctx, options) {
    let peers: AffiliateSpec[] = [];
    let text = "";
    let error = "";
    let timer: ReturnType<typeof setInterval> | undefined;
    async function read(): Promise<void> {
      try {
        const next = await Deno.readTextFile(options.file);
        if (next === text && !error) return;
        peers = parseInventory(next);
        text = next;
        error = "";
        ctx.requestReconcile("inventory changed");
      } catch (e) {
        // Keep the last good view; health says what is wrong.
        error = e instanceof Error ? e.message : String(e);
        ctx.log.warn("cannot read the inventory", { error });
      }
    }
    return {
      async start() {
        await read();
        timer = setInterval(read, options.refresh);
      },
      stop() {
        clearInterval(timer);
      },
      discovery: {
        publish: () => Promise.resolve(),
        affiliates: () => peers.filter((p) => p.nodeId !== ctx.identity.nodeId),
        publicAddresses: () => [],
        health: () => ({
          state: error ? "cached" : "static",
          detail: error || `${peers.length} boxes in ${options.file}`,
        }),
      },
    };
  },
};

export default plugin;
