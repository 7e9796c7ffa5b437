/** Discovery hooks for agent tests: connected, no remote affiliates, unless overridden. */
import type { DiscoveryHooks } from "../../core/plugins/types.ts";

export function discoveryHooks(
  over: Partial<DiscoveryHooks> = {},
): DiscoveryHooks {
  return {
    publish: () => Promise.resolve(),
    affiliates: () => [],
    publicAddresses: () => [],
    leave: () => Promise.resolve(),
    health: () => ({ state: "connected", detail: "" }),
    ...over,
  };
}
