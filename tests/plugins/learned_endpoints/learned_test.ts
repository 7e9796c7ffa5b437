import { assertEquals } from "../../_tools/assert.ts";
import {
  LEARNED_AGE_OUT_MS,
  learnedCandidates,
  type LearnedInput,
} from "../../../plugins/learned_endpoints/learned.ts";
import type { AffiliateSpec } from "../../../core/resources/specs.ts";

type Peer = LearnedInput["peer"];
type Observer = Pick<AffiliateSpec, "nodeId" | "edgespan">;

// Lab scenario 5: w1 and w2 behind one cone NAT (WAN 198.51.100.11), both on
// 51820; the router kept 51820 for w1 and mapped w2 to 1024.
const w2: Peer = {
  nodeId: "w2",
  addresses: ["192.168.1.3"],
  edgespan: {
    advertised: ["192.168.1.3:51820", "198.51.100.11:51820"],
    observed: [],
  },
};
const sees = (
  by: string,
  ...obs: [string, string][]
): Observer => ({
  nodeId: by,
  edgespan: {
    advertised: [],
    observed: obs.map(([affiliateID, endpoint]) => ({ affiliateID, endpoint })),
  },
});
const T0 = 1_800_000_000_000;

function run(over: Partial<LearnedInput>) {
  return learnedCandidates({
    endpoints: ["192.168.1.3:51820", "198.51.100.11:51820"],
    peer: w2,
    observers: [],
    confirmed: new Map(),
    now: T0,
    ...over,
  });
}

Deno.test("learned: scenario 5, the observed mapping goes right after the LAN candidate, before the wrong WAN:51820", () => {
  const r = run({ observers: [sees("cp", ["w2", "198.51.100.11:1024"])] });
  assertEquals(r.endpoints, [
    "192.168.1.3:51820",
    "198.51.100.11:1024",
    "198.51.100.11:51820",
  ]);
  assertEquals(r.learned, ["198.51.100.11:1024"]);
  assertEquals(r.aged, []);
});

Deno.test("learned: a Talos peer (no extension) keeps its list as it is", () => {
  const talos: Peer = { nodeId: "t1", addresses: ["10.0.0.5"] };
  const endpoints = ["10.0.0.5:51820", "203.0.113.5:51820", "1.2.3.4:5678"];
  const r = run({ peer: talos, endpoints });
  assertEquals(r.endpoints, endpoints);
  assertEquals(r.learned, []);
});

Deno.test("learned: more observers first; the peer's own and other peers' observations do not count", () => {
  const r = run({
    observers: [
      sees("a", ["w2", "198.51.100.11:2000"]),
      sees("b", ["w2", "198.51.100.11:3000"], ["w1", "198.51.100.11:9"]),
      sees("c", ["w2", "198.51.100.11:3000"]),
      sees("w2", ["w2", "198.51.100.11:4000"]),
    ],
  });
  assertEquals(r.learned, ["198.51.100.11:3000", "198.51.100.11:2000"]);
  assertEquals(r.endpoints, [
    "192.168.1.3:51820",
    "198.51.100.11:3000",
    "198.51.100.11:2000",
    "198.51.100.11:51820",
  ]);
});

Deno.test("learned: an observed endpoint on a node address the peer did not advertise is not offered", () => {
  const r = run({
    peer: { ...w2, addresses: ["192.168.1.3", "10.9.0.3"] },
    observers: [sees("cp", ["w2", "10.9.0.3:51820"])],
  });
  assertEquals(r.endpoints, ["192.168.1.3:51820", "198.51.100.11:51820"]);
});

Deno.test("learned: a confirmed advertised endpoint moves ahead of the other public ones", () => {
  const r = run({
    endpoints: ["192.168.1.3:51820", "198.51.100.11:51820", "203.0.113.9:7"],
    peer: {
      ...w2,
      edgespan: {
        advertised: [
          "192.168.1.3:51820",
          "198.51.100.11:51820",
          "203.0.113.9:7",
        ],
        observed: [],
      },
    },
    observers: [sees("cp", ["w2", "203.0.113.9:7"])],
  });
  assertEquals(r.endpoints, [
    "192.168.1.3:51820",
    "203.0.113.9:7",
    "198.51.100.11:51820",
  ]);
});

Deno.test("learned: aging of a harvested endpoint (golden timeline)", () => {
  // 198.51.100.11:1024 was harvested for w2 (in its list, not advertised).
  const endpoints = [
    "192.168.1.3:51820",
    "198.51.100.11:51820",
    "198.51.100.11:1024",
  ];
  const steps: {
    at: number;
    observers: Observer[];
    live?: string;
    want: string[];
    aged: string[];
  }[] = [
    // Confirmed by cp's observation: learned, placed after the LAN one.
    {
      at: 0,
      observers: [sees("cp", ["w2", "198.51.100.11:1024"])],
      want: ["192.168.1.3:51820", "198.51.100.11:1024", "198.51.100.11:51820"],
      aged: [],
    },
    // Nobody confirms it any more: kept up to the age-out...
    {
      at: LEARNED_AGE_OUT_MS,
      observers: [],
      want: ["192.168.1.3:51820", "198.51.100.11:1024", "198.51.100.11:51820"],
      aged: [],
    },
    // ...and dropped just after it,
    {
      at: LEARNED_AGE_OUT_MS + 1,
      observers: [],
      want: ["192.168.1.3:51820", "198.51.100.11:51820"],
      aged: ["198.51.100.11:1024"],
    },
    // for good (not a first sighting again),
    {
      at: 3 * LEARNED_AGE_OUT_MS,
      observers: [],
      want: ["192.168.1.3:51820", "198.51.100.11:51820"],
      aged: ["198.51.100.11:1024"],
    },
    // until an observation confirms it again.
    {
      at: 3 * LEARNED_AGE_OUT_MS + 1,
      observers: [sees("cp", ["w2", "198.51.100.11:1024"])],
      want: ["192.168.1.3:51820", "198.51.100.11:1024", "198.51.100.11:51820"],
      aged: [],
    },
  ];
  let confirmed = new Map<string, number>();
  for (const s of steps) {
    const r = run({
      endpoints,
      observers: s.observers,
      confirmed,
      now: T0 + s.at,
      ...(s.live ? { liveEndpoint: s.live } : {}),
    });
    assertEquals([r.endpoints, r.aged], [s.want, s.aged], `at +${s.at} ms`);
    confirmed = r.confirmed;
  }
});

Deno.test("learned: this node's live session confirms a harvested endpoint; a first sighting starts the clock", () => {
  const endpoints = [
    "192.168.1.3:51820",
    "198.51.100.11:51820",
    "198.51.100.11:1024",
  ];
  let r = run({ endpoints, liveEndpoint: "198.51.100.11:1024" });
  assertEquals(r.confirmed.get("198.51.100.11:1024"), T0);
  r = run({
    endpoints,
    confirmed: r.confirmed,
    now: T0 + LEARNED_AGE_OUT_MS - 1,
    liveEndpoint: "198.51.100.11:1024",
  });
  assertEquals(
    r.confirmed.get("198.51.100.11:1024"),
    T0 + LEARNED_AGE_OUT_MS - 1,
  );
  // Never confirmed: the first sighting counts, then it ages out.
  r = run({ endpoints, now: T0 });
  r = run({
    endpoints,
    confirmed: r.confirmed,
    now: T0 + LEARNED_AGE_OUT_MS + 1,
  });
  assertEquals(r.aged, ["198.51.100.11:1024"]);
});

Deno.test("learned: a changed mapping (scenario 10): the new observation leads, the old harvested one ages out", () => {
  const endpoints = [
    "192.168.1.3:51820",
    "198.51.100.11:51820",
    "198.51.100.11:1024",
  ];
  let r = run({
    endpoints,
    observers: [sees("cp", ["w2", "198.51.100.11:1024"])],
  });
  // The WAN moved to .111; cp's WireGuard roamed, its observation followed.
  const moved = [sees("cp", ["w2", "198.51.100.111:1024"])];
  r = run({
    endpoints,
    observers: moved,
    confirmed: r.confirmed,
    now: T0 + 5_000,
  });
  assertEquals(r.endpoints, [
    "192.168.1.3:51820",
    "198.51.100.111:1024",
    "198.51.100.11:1024",
    "198.51.100.11:51820",
  ]);
  r = run({
    endpoints,
    observers: moved,
    confirmed: r.confirmed,
    now: T0 + LEARNED_AGE_OUT_MS + 1,
  });
  assertEquals(r.endpoints, [
    "192.168.1.3:51820",
    "198.51.100.111:1024",
    "198.51.100.11:51820",
  ]);
  assertEquals(r.aged, ["198.51.100.11:1024"]);
});
