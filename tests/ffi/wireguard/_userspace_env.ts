/** Shared gate for tests that run wireguard-go on the host. */
import { canUseNetns, run } from "../../_tools/netns.ts";

/** Why wireguard-go tests cannot run here, or undefined when they can. */
export async function userspaceSkipReason(): Promise<string | undefined> {
  const ns = await canUseNetns();
  if (ns) return ns;
  if ((await run("sh", ["-c", "command -v wireguard-go"])).code !== 0) {
    return "wireguard-go is not installed (see tests/apt-packages.txt)";
  }
  if ((await run("sh", ["-c", "command -v wg"])).code !== 0) {
    return "wg is not installed (package wireguard-tools)";
  }
  try {
    await Deno.stat("/dev/net/tun");
  } catch {
    return "/dev/net/tun is missing";
  }
  return undefined;
}
