import { assertEquals } from "../../_tools/assert.ts";
import {
  SELF_MAPPINGS_MAX,
  type SelfMappingInput,
  selfMappings,
} from "../../../plugins/learned_endpoints/self_mapping.ts";
import { LEARNED_AGE_OUT_MS } from "../../../plugins/learned_endpoints/learned.ts";

const T0 = Date.parse("2026-12-01T10:00:00Z");
const OWN = ["10.1.0.12:51820", "198.51.100.11:51820"];

function observer(id: string, ...endpoints: [string, string][]) {
  return {
    nodeId: id,
    edgespan: {
      advertised: [],
      observed: endpoints.map(([affiliateID, endpoint]) => ({
        affiliateID,
        endpoint,
      })),
    },
  };
}

function input(over: Partial<SelfMappingInput>): SelfMappingInput {
  return {
    nodeId: "w2",
    nodeAddresses: ["10.1.0.12"],
    own: OWN,
    observers: [],
    up: new Set(["cp", "w3", "w4"]),
    seen: new Map(),
    now: T0,
    ...over,
  };
}

Deno.test("selfMappings() golden: where up peers observe this node, most observers first, never an own endpoint or node address", () => {
  const r = selfMappings(input({
    observers: [
      observer("cp", ["w2", "198.51.100.11:1024"], ["w3", "203.0.113.9:1"]),
      observer("w3", ["w2", "198.51.100.11:1024"], [
        "w2",
        "198.51.100.11:51820",
      ]),
      observer("w4", ["w2", "198.51.100.11:2048"], ["w2", "10.1.0.12:40000"]),
      // Down here: its word does not count.
      observer("w5", ["w2", "198.51.100.11:3000"]),
      // This node's own stale view of itself is ignored.
      observer("w2", ["w2", "198.51.100.11:4000"]),
    ],
  }));
  assertEquals(r.endpoints, ["198.51.100.11:1024", "198.51.100.11:2048"]);
  assertEquals([...r.seen], [
    ["198.51.100.11:1024", T0],
    ["198.51.100.11:2048", T0],
  ]);
});

Deno.test("selfMappings() ages a mapping no up peer observes any more out after 240 s", () => {
  const first = selfMappings(input({
    observers: [observer("cp", ["w2", "198.51.100.11:1024"])],
  }));
  // The NAT rebinds: cp now sees the new mapping.
  const moved = [observer("cp", ["w2", "198.51.100.11:5555"])];
  const later = (ms: number, seen = first.seen) =>
    selfMappings(input({ observers: moved, seen, now: T0 + ms }));
  assertEquals(later(10_000).endpoints, [
    "198.51.100.11:5555",
    "198.51.100.11:1024",
  ]);
  assertEquals(later(LEARNED_AGE_OUT_MS).endpoints, [
    "198.51.100.11:5555",
    "198.51.100.11:1024",
  ]);
  assertEquals(later(LEARNED_AGE_OUT_MS + 1).endpoints, ["198.51.100.11:5555"]);
  // Nobody up observes it at all: the list empties after the same time.
  const none = selfMappings(input({ up: new Set(), seen: first.seen }));
  assertEquals(none.endpoints, ["198.51.100.11:1024"]);
  assertEquals(
    selfMappings(input({
      up: new Set(),
      seen: none.seen,
      now: T0 + LEARNED_AGE_OUT_MS + 1,
    })).endpoints,
    [],
  );
});

Deno.test("selfMappings() stays within KubeSpan's endpoint limits: a few mappings, never past 64 in all", () => {
  const many = observer(
    "cp",
    ...Array.from(
      { length: 10 },
      (_, i) => ["w2", `198.51.100.11:${1000 + i}`] as [string, string],
    ),
  );
  assertEquals(
    selfMappings(input({ observers: [many] })).endpoints.length,
    SELF_MAPPINGS_MAX,
  );
  const own62 = Array.from({ length: 62 }, (_, i) => `10.9.0.${i + 1}:51820`);
  assertEquals(
    selfMappings(input({ own: own62, observers: [many] })).endpoints,
    ["198.51.100.11:1000", "198.51.100.11:1001"],
  );
  const own64 = Array.from({ length: 64 }, (_, i) => `10.9.0.${i + 1}:51820`);
  assertEquals(
    selfMappings(input({ own: own64, observers: [many] })).endpoints,
    [],
  );
});
