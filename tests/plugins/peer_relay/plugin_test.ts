import { assertEquals } from "../../_tools/assert.ts";
import { testPluginContext } from "../../_tools/plugin_context.ts";
import type { LocalIdentity } from "../../../core/identity/identity.ts";
import type { Resource } from "../../../core/resources/store.ts";
import { peerStatus } from "../../_tools/peer_status.ts";
import { RELAY_DEFAULTS } from "../../../plugins/peer_relay/options.ts";
import { peerRelayPlugin } from "../../../plugins/peer_relay/plugin.ts";

const STATUS = peerStatus({
  endpoint: "192.0.2.2:51820",
  lastUsedEndpoint: "192.0.2.2:51820",
});

Deno.test("peer-relay reads the offered relays once per pass, even when passes share a clock reading", () => {
  const reads: string[] = [];
  const ac = new AbortController();
  const ctx = testPluginContext({
    pluginName: "peer-relay",
    identity: { spec: { publicKey: "SELF" } } as unknown as LocalIdentity,
    signal: ac.signal,
    now: () => 1_000, // a frozen clock: only the pass tells passes apart
    listResources: <S>(type: string): Resource<S>[] => {
      reads.push(type);
      return [];
    },
  });
  const plugin = peerRelayPlugin.create(ctx, { ...RELAY_DEFAULTS, timers: {} });
  try {
    const spec = {
      address: "fd00::2",
      allowedIPs: [],
      endpoints: ["192.0.2.2:51820"],
      label: "b",
    };
    for (const passId of [1, 2]) {
      for (const key of ["B", "C", "D"]) {
        plugin.peerPath!.decide(key, STATUS, spec, { passId, now: 1_000 });
      }
    }
    // Each pass reads the affiliates once (for its 3 peers), no more.
    assertEquals(reads.filter((t) => t === "affiliates").length, 2);
  } finally {
    ac.abort();
  }
});
