/**
 * Picks the link whose MAC seeds the node's mesh address (the first
 * physical link, as KubeSpan does), read from sysfs.
 *
 * @module
 */
import { parseMac } from "./ula.ts";

/** The link whose MAC seeds the node's mesh address. */
export interface HardwareAddr {
  /** Link name, e.g. `eth0`. */
  link: string;
  mac: Uint8Array;
  /** Whether the link is backed by a device (a NIC) rather than virtual. */
  physical: boolean;
}

/** Options for {@linkcode firstHardwareAddr}. */
export interface FirstHardwareAddrOptions {
  /** sysfs directory listing links. @default "/sys/class/net" */
  root?: string;
  /** Link names never to use (e.g. our own WireGuard link). @default [] */
  exclude?: readonly string[];
}

const ARPHRD_ETHER = "1";

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first physical Ethernet link in sorted name order, as KubeSpan picks
 * it. Boxes without one (containers, network namespaces made of veth pairs)
 * fall back to the first virtual Ethernet link with a non-zero MAC.
 * Returns `undefined` when there is none at all.
 */
export async function firstHardwareAddr(
  options: FirstHardwareAddrOptions = {},
): Promise<HardwareAddr | undefined> {
  const root = options.root ?? "/sys/class/net";
  const exclude = new Set(options.exclude ?? []);
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(root)) names.push(entry.name);
  } catch {
    return undefined;
  }
  names.sort();
  let fallback: HardwareAddr | undefined;
  for (const link of names) {
    if (exclude.has(link)) continue;
    if ((await readTrimmed(`${root}/${link}/type`)) !== ARPHRD_ETHER) continue;
    const text = await readTrimmed(`${root}/${link}/address`);
    if (!text) continue;
    let mac: Uint8Array;
    try {
      mac = parseMac(text);
    } catch {
      continue;
    }
    if (mac.every((b) => b === 0)) continue;
    const physical = await exists(`${root}/${link}/device`);
    if (physical) return { link, mac, physical };
    fallback ??= { link, mac, physical };
  }
  return fallback;
}
