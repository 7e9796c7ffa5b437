/**
 * Network-namespace helpers shared by the demo, the benches and the
 * privileged tests: a capability probe, throwaway namespaces (always
 * deleted, leftover processes killed), veth pairs, and `ip`/`nft` calls.
 * Uses `ip` and `nft` because this is tooling, not the product.
 *
 * @module
 */
import { run, runOk } from "../run.ts";

/** Runs `ip` with arguments and returns its stdout; throws with its stderr on failure. */
export function ip(args: readonly string[]): Promise<string> {
  return runOk("ip", args);
}

/** Runs `ip -j <args>` and parses the JSON (an empty output gives `[]`). */
export async function ipJson(args: readonly string[]): Promise<unknown> {
  const out = await ip(["-j", ...args]);
  return out.trim() === "" ? [] : JSON.parse(out);
}

/** Runs `ip -n <netns> -j <args>` and parses the JSON. */
export function ipnJson(
  netns: string,
  args: readonly string[],
): Promise<unknown> {
  return ipJson(["-n", netns, ...args]);
}

/** Runs `nft -j <args>` inside a netns and returns the `nftables` array. */
export async function nftJson(
  netns: string,
  args: readonly string[] = ["list", "ruleset"],
): Promise<Record<string, unknown>[]> {
  const out = await runOk("ip", ["netns", "exec", netns, "nft", "-j", ...args]);
  return (JSON.parse(out) as { nftables: Record<string, unknown>[] }).nftables;
}

/** Feeds an nft script (one command a line) to `nft -f -` inside a netns. */
export async function nftScript(
  netns: string,
  commands: readonly string[],
): Promise<string> {
  const r = await run("ip", ["netns", "exec", netns, "nft", "-f", "-"], {
    stdin: commands.join("\n") + "\n",
  });
  if (r.code !== 0) throw new Error(`nft: ${r.stderr}`);
  return r.stdout;
}

/** Random hex characters, two per byte. @default 4 bytes */
export function randomSuffix(bytes = 4): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

let probe: Promise<string | undefined> | undefined;

/**
 * Checks once whether this process may create network namespaces.
 * Returns `undefined` when it can, else the reason to print.
 */
export function netnsUnavailable(): Promise<string | undefined> {
  probe ??= (async () => {
    if (Deno.build.os !== "linux") return "netns tests need Linux";
    if (Deno.uid() !== 0) return "netns tests need root";
    const name = `probe${randomSuffix()}`;
    const r = await run("ip", ["netns", "add", name]);
    if (r.code !== 0) {
      return `cannot create a netns with "ip netns add": ${
        r.stderr.trim() || `exit ${r.code}`
      }`;
    }
    await run("ip", ["netns", "del", name]);
    return undefined;
  })();
  return probe;
}

/**
 * Kills every process still inside a netns (e.g. a wireguard-go left by an
 * agent stopped without cleanup): they would keep the namespace alive after
 * `ip netns del`.
 */
export async function killNetnsProcesses(name: string): Promise<void> {
  const out = await run("ip", ["netns", "pids", name]);
  for (const pid of out.stdout.split("\n").filter(Boolean)) {
    try {
      Deno.kill(Number(pid), "SIGKILL");
    } catch { /* already gone */ }
  }
}

/** Kills the processes left in a netns, then deletes it; never throws. */
export async function deleteNetns(name: string): Promise<void> {
  await killNetnsProcesses(name);
  await run("ip", ["netns", "del", name]);
}

/**
 * Creates a netns named `<prefix><random>`, brings its `lo` up, runs `fn`
 * with the name, and always deletes the netns (which also drops its links,
 * routes, rules and nft tables).
 */
export async function withNetns(
  prefix: string,
  fn: (name: string) => Promise<void>,
): Promise<void> {
  const name = `${prefix}${randomSuffix()}`;
  await ip(["netns", "add", name]);
  try {
    await ip(["-n", name, "link", "set", "lo", "up"]);
    await fn(name);
  } finally {
    await deleteNetns(name);
  }
}

/** Options of {@linkcode addVeth}. */
export interface VethOptions {
  /** Netns of the peer end; absent = same netns as the first end. */
  peerNetns?: string;
  /** Address (with length) for the first end, e.g. `10.9.0.1/24`. */
  address?: string;
  /** Address for the peer end. */
  peerAddress?: string;
  /** Bring both ends up. @default true */
  up?: boolean;
}

/** Creates a veth pair `a` (in `netns`) ↔ `b` with `ip`, for test set-up. */
export async function addVeth(
  netns: string,
  a: string,
  b: string,
  options: VethOptions = {},
): Promise<void> {
  const peerNs = options.peerNetns ?? netns;
  await ip([
    "-n",
    netns,
    "link",
    "add",
    a,
    "type",
    "veth",
    "peer",
    "name",
    b,
    "netns",
    peerNs,
  ]);
  if (options.address) {
    await ip(["-n", netns, "addr", "add", options.address, "dev", a]);
  }
  if (options.peerAddress) {
    await ip(["-n", peerNs, "addr", "add", options.peerAddress, "dev", b]);
  }
  if (options.up ?? true) {
    await ip(["-n", netns, "link", "set", a, "up"]);
    await ip(["-n", peerNs, "link", "set", b, "up"]);
  }
}
