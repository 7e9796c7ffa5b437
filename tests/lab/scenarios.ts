/**
 * The lab's scenarios (issue #13) as plain data: which sites, what kind of
 * router each has, which boxes sit behind it, which pairs cannot have a
 * direct path, and what happens mid-run.
 *
 * @module
 */

/**
 * The router of a site.
 * - `cone`: masquerade (endpoint-independent mapping, port kept when free),
 *   inbound closed except replies.
 * - `symmetric`: masquerade `random,fully-random` (a new port per
 *   destination), inbound closed except replies.
 * - `open`: no NAT, public addresses on the LAN, UDP 51820 allowed in.
 */
export type RouterKind = "cone" | "symmetric" | "open";

/** One box behind a site router. */
export interface BoxSpec {
  /** Host name, also the label peers show. Unique in the scenario. */
  name: string;
  /** WireGuard listen port. @default 51820 */
  listenPort?: number;
  /**
   * The box serves as a relay (`peer-relay` with `serve: true`, edgespan
   * mode only); its site router lets the leg ports in. @default none
   */
  relay?: { maxPairs?: number; priority?: number };
}

/** One site: a router and the boxes on its LAN bridge. */
export interface SiteSpec {
  name: string;
  router: RouterKind;
  /**
   * Give the site routed IPv6 (2001:db8:<k>::/64) behind a stateful firewall
   * without NAT, beside its IPv4. @default false
   */
  ipv6?: boolean;
  boxes: BoxSpec[];
}

/** Something done to the network once the mesh is up. */
export interface LabEvent {
  /**
   * `rebind`: flush the site routers' conntrack (every NAT mapping is lost).
   * `renumber`: move a router's WAN to another address.
   */
  kind: "rebind" | "renumber";
  /** Sites whose router is hit. */
  sites: string[];
}

/** One scenario of the matrix. */
export interface Scenario {
  /** "1" … "10", as numbered in the issue. */
  id: string;
  title: string;
  sites: SiteSpec[];
  /**
   * Box pairs for which no direct path can exist with these routers (they
   * need a relay); the lab reports them so instead of as failures.
   */
  noDirectPath?: [string, string][];
  event?: LabEvent;
}

const open = (name: string, box: string): SiteSpec => ({
  name,
  router: "open",
  boxes: [{ name: box }],
});
/** An open site whose box relays for pairs that cannot meet. */
const relaySite = (name: string, box: string): SiteSpec => ({
  name,
  router: "open",
  boxes: [{ name: box, relay: {} }],
});
const behind = (
  name: string,
  router: RouterKind,
  boxes: string[],
): SiteSpec => ({ name, router, boxes: boxes.map((b) => ({ name: b })) });

/** Scenario 1's sites, reused by the mid-run events (9, 10). */
function openPlusTwoCones(): SiteSpec[] {
  return [
    open("cloud", "cp"),
    behind("home", "cone", ["w1"]),
    behind("office", "cone", ["w2"]),
  ];
}

/** Every scenario, in the order. */
export const SCENARIOS: readonly Scenario[] = [
  {
    id: "1",
    title: "open site + workers behind two different cone NATs",
    sites: openPlusTwoCones(),
  },
  {
    id: "2",
    title: "two different cone NATs, nothing open",
    sites: [behind("home", "cone", ["w1"]), behind("office", "cone", ["w2"])],
  },
  {
    id: "3",
    title: "three sites, all cone NAT",
    sites: [
      behind("home", "cone", ["w1"]),
      behind("office", "cone", ["w2"]),
      behind("shop", "cone", ["w3"]),
    ],
  },
  {
    id: "4",
    title: "two boxes behind one NAT (same LAN) + one remote box",
    sites: [
      open("cloud", "cp"),
      {
        name: "home",
        router: "cone",
        boxes: [{ name: "w1" }, { name: "w2", listenPort: 51821 }],
      },
    ],
  },
  {
    id: "5",
    title: "two boxes behind one NAT, both on 51820 (+ one remote box)",
    sites: [open("cloud", "cp"), behind("home", "cone", ["w1", "w2"])],
  },
  {
    id: "6",
    title: "both ends behind symmetric NAT",
    sites: [
      behind("home", "symmetric", ["w1"]),
      behind("office", "symmetric", ["w2"]),
      relaySite("cloud", "relay"),
    ],
    noDirectPath: [["w1", "w2"]],
  },
  {
    id: "7",
    title: "one symmetric NAT, one cone NAT",
    sites: [
      behind("home", "symmetric", ["w1"]),
      behind("office", "cone", ["w2"]),
      relaySite("cloud", "relay"),
    ],
    // The cone router lets in only replies to what it sent (conntrack
    // filters by address and port). w1's router gives each destination a
    // new random port, which no other box ever sees, so w2 can never send
    // to it first; without port prediction there is no direct path.
    noDirectPath: [["w1", "w2"]],
  },
  {
    id: "8",
    title: "dual stack: IPv4 behind cone NAT, IPv6 firewalled without NAT",
    sites: [
      { ...open("cloud", "cp"), ipv6: true },
      { ...behind("home", "cone", ["w1"]), ipv6: true },
      { ...behind("office", "cone", ["w2"]), ipv6: true },
    ],
  },
  {
    id: "9",
    title: "NAT rebinding mid-run (conntrack of both cone routers flushed)",
    sites: openPlusTwoCones(),
    event: { kind: "rebind", sites: ["home", "office"] },
  },
  {
    id: "10",
    title: "a site's WAN address changes mid-run",
    sites: openPlusTwoCones(),
    event: { kind: "renumber", sites: ["home"] },
  },
];

/** The scenario with this id; throws a RangeError naming the valid ids. */
export function scenarioById(id: string): Scenario {
  const s = SCENARIOS.find((x) => x.id === id);
  if (!s) {
    throw new RangeError(
      `Unknown scenario "${id}": choose one of ${
        SCENARIOS.map((x) => x.id).join(", ")
      }`,
    );
  }
  return s;
}

/** Every unordered box pair of a scenario, in box order. */
export function boxPairs(s: Scenario): [string, string][] {
  const names = s.sites.flatMap((site) => site.boxes.map((b) => b.name));
  const pairs: [string, string][] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      pairs.push([names[i]!, names[j]!]);
    }
  }
  return pairs;
}

/** Whether the scenario marks this pair as having no direct path. */
export function hasNoDirectPath(s: Scenario, a: string, b: string): boolean {
  return (s.noDirectPath ?? []).some(([x, y]) =>
    (x === a && y === b) || (x === b && y === a)
  );
}
