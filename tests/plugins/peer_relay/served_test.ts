import {
  countRefusal,
  refusalKind,
  relayPairRows,
} from "../../../plugins/peer_relay/served.ts";
import { RelayTable } from "../../../plugins/peer_relay/table.ts";
import { RESOURCE_DEFINITIONS } from "../../../core/resources/definitions.ts";
import { formatTable } from "../../../web/cli/output.ts";
import { assertEquals } from "../../_tools/assert.ts";

const A = "AAAA=", B = "BBBB=", C = "CCCC=";
const LABELS: Record<string, string> = { [A]: "edge-a", [B]: "edge-b" };
const T0 = Date.parse("2026-12-01T12:00:00Z");

Deno.test("relayPairRows() lists each pair with legs, latched senders and bytes each way", () => {
  const t = new RelayTable({ ports: [51900, 51999], maxPairs: 4 });
  t.join(A, B, false, T0);
  t.join(B, A, true, T0);
  t.join(C, A, false, T0);
  t.join(A, C, true, T0 + 1000); // legs not bound yet: zeros
  const rows = relayPairRows(t.allocations(), (pair) =>
    pair === `${A}|${B}`
      ? {
        counters: {
          forwardedBytes: 3000,
          legBytes: [2000, 1000],
          forwardedPackets: 20,
          dropped: 1,
        },
        latched: [{ address: "198.51.100.7", port: 40001 }, {
          address: "2001:db8::9",
          port: 51820,
        }],
      }
      : undefined, (k) => LABELS[k] ?? k.slice(0, 4));
  assertEquals([...rows.keys()], ["edge-a–edge-b", "edge-a–CCCC"]);
  assertEquals(rows.get("edge-a–edge-b"), {
    labels: ["edge-a", "edge-b"],
    peers: [A, B],
    ports: [51900, 51901],
    latched: ["198.51.100.7:40001", "[2001:db8::9]:51820"],
    bytes: [2000, 1000],
    packets: 20,
    dropped: 1,
    since: "2026-12-01T12:00:00.000Z",
  });
  assertEquals(rows.get("edge-a–CCCC")!.latched, ["", ""]);
  assertEquals(rows.get("edge-a–CCCC")!.bytes, [0, 0]);
  // What `edgespan get relaypairs` prints for these rows.
  const def = RESOURCE_DEFINITIONS.find((d) => d.type === "relaypairs")!;
  const table = formatTable(
    def,
    [...rows].map(([id, spec]) => ({
      type: "relaypairs",
      id,
      version: 1,
      spec,
      updated: 0,
    })),
    T0 + 90_000,
  );
  console.log(table);
  assertEquals(table.split("\n")[1]!.split(/\s{3,}/), [
    "edge-a–edge-b",
    "1",
    "edge-a,edge-b",
    "51900,51901",
    "198.51.100.7:40001,[2001:db8::9]:51820",
    "2.0 KiB",
    "1000 B",
    "1",
    "1m30s",
  ]);
});

Deno.test("relayPairRows() keys a pair by its public keys when labels repeat", () => {
  const t = new RelayTable({ ports: [51900, 51999], maxPairs: 4 });
  for (const [x, y] of [[A, B], [A, C]]) {
    t.join(x!, y!, false, T0);
    t.join(y!, x!, true, T0);
  }
  const rows = relayPairRows(t.allocations(), () => undefined, () => "same");
  assertEquals([...rows.keys()], ["same–same", `${A}|${C}`]);
});

Deno.test("refusalKind() and countRefusal() bound the reasons to a few kinds", () => {
  assertEquals(
    [
      "relay full: 3 of 3 pairs",
      "relay out of leg ports",
      "relay cannot bind legs",
      "a box cannot pair with itself",
      "something new",
    ].map(refusalKind),
    ["full", "ports", "bind", "self", "other"],
  );
  const counts: Record<string, number> = {};
  countRefusal(counts, "relay full: 1 of 1 pairs");
  countRefusal(counts, "relay full: 2 of 2 pairs");
  countRefusal(counts, "relay out of leg ports");
  assertEquals(counts, { full: 2, ports: 1 });
});
