/**
 * Network-namespace helpers for privileged tests: a capability probe, a
 * throwaway netns per test (always deleted), veth helpers and `ip -j`.
 *
 * Tests may shell out to `ip`; the product never does.
 *
 * @module
 */

/** Result of running a command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command and collects its output; never throws on a non-zero exit. */
export async function run(cmd: string, args: string[]): Promise<RunResult> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } catch (err) {
    return { code: 127, stdout: "", stderr: String(err) };
  }
}

/** Runs a command and throws with its stderr when it fails. */
export async function runOk(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) {
    throw new Error(
      `Command failed: ${cmd} ${
        args.join(" ")
      }: exit ${r.code}: ${r.stderr.trim()}`,
    );
  }
  return r.stdout;
}

/** Runs `ip -j <args>` and parses the JSON (an empty output gives `[]`). */
export async function ipJson(args: string[]): Promise<unknown> {
  const out = await runOk("ip", ["-j", ...args]);
  return out.trim() === "" ? [] : JSON.parse(out);
}

let probe: Promise<string | undefined> | undefined;

/**
 * Checks once whether this process may create network namespaces.
 * Returns `undefined` when it can, else the reason to print.
 */
export function canUseNetns(): Promise<string | undefined> {
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

/** Eight random hex characters. */
export function randomSuffix(): string {
  const b = crypto.getRandomValues(new Uint8Array(4));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
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
  await runOk("ip", ["netns", "add", name]);
  try {
    await runOk("ip", ["-n", name, "link", "set", "lo", "up"]);
    await fn(name);
  } finally {
    await killNetnsProcesses(name);
    await run("ip", ["netns", "del", name]);
  }
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
  await runOk("ip", [
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
    await runOk("ip", ["-n", netns, "addr", "add", options.address, "dev", a]);
  }
  if (options.peerAddress) {
    await runOk("ip", [
      "-n",
      peerNs,
      "addr",
      "add",
      options.peerAddress,
      "dev",
      b,
    ]);
  }
  if (options.up ?? true) {
    await runOk("ip", ["-n", netns, "link", "set", a, "up"]);
    await runOk("ip", ["-n", peerNs, "link", "set", b, "up"]);
  }
}

/** Runs `ip -n <netns> -j <args>` and parses the JSON. */
export function ipnJson(netns: string, args: string[]): Promise<unknown> {
  return ipJson(["-n", netns, ...args]);
}

/** Runs `nft -j <args>` inside a netns and returns the `nftables` array. */
export async function nftJson(
  netns: string,
  args: string[] = ["list", "ruleset"],
): Promise<Record<string, unknown>[]> {
  const out = await runOk("ip", ["netns", "exec", netns, "nft", "-j", ...args]);
  return (JSON.parse(out) as { nftables: Record<string, unknown>[] }).nftables;
}
