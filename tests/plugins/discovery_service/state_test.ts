import { assert, assertEquals, assertThrows } from "../../_tools/assert.ts";
import {
  DEFAULT_LIMITS,
  DiscoveryState,
} from "../../../plugins/discovery_service/server/mod.ts";
import { DiscoveryRequestError } from "../../../plugins/discovery_service/server/limits.ts";
import {
  Watcher,
  type WatchEvent,
} from "../../../plugins/discovery_service/server/state.ts";

const b = (...x: number[]) => new Uint8Array(x);
const MIN = 60_000;

function setup() {
  let t = 1_000_000;
  const s = new DiscoveryState(DEFAULT_LIMITS, () => t);
  return { s, advance: (ms: number) => (t += ms) };
}

function drain(w: Watcher) {
  const events: WatchEvent[] = [];
  for (let e; (e = w.next()) !== undefined;) events.push(e);
  return events.map((e) =>
    e.kind === "update"
      ? `u:${e.affiliate.id}:${e.affiliate.endpoints.length}`
      : `d:${e.id}`
  );
}

Deno.test("DiscoveryState.update() keeps data unless new data is present and merges endpoints in order", () => {
  const { s } = setup();
  s.update("c", "a", b(1), [b(10), b(11)], MIN);
  s.update("c", "a", undefined, [b(11), b(12)], MIN);
  s.update("c", "a", new Uint8Array(), [b(10)], MIN);
  const [a] = s.list("c");
  assertEquals(a!.data, b(1));
  assertEquals(a!.endpoints, [b(10), b(11), b(12)]);
  s.update("c", "a", b(2), [], MIN);
  assertEquals(s.list("c")[0]!.data, b(2));
});

Deno.test("DiscoveryState keeps clusters apart", () => {
  const { s } = setup();
  s.update("c1", "a", b(1), [], MIN);
  s.update("c2", "b", b(2), [], MIN);
  assertEquals(s.list("c1").map((a) => a.id), ["a"]);
  assertEquals(s.list("c2").map((a) => a.id), ["b"]);
  assertEquals(s.list("c3"), []);
});

Deno.test("DiscoveryState enforces every limit with the right code", () => {
  const { s } = setup();
  const code = (f: () => void) => {
    const e = assertThrows(f, DiscoveryRequestError);
    return `${e.code}:${e.message}`;
  };
  assertEquals(
    code(() => s.update("", "a", b(1), [], MIN)),
    "invalid_argument:cluster ID can't be empty",
  );
  assertEquals(
    code(() => s.update("x".repeat(257), "a", b(1), [], MIN)),
    "invalid_argument:cluster ID is too long",
  );
  s.update("x".repeat(256), "a", b(1), [], MIN);
  assertEquals(
    code(() => s.update("c", "", b(1), [], MIN)),
    "invalid_argument:affiliate ID can't be empty",
  );
  assertEquals(
    code(() => s.update("c", "a".repeat(257), b(1), [], MIN)),
    "invalid_argument:affiliate ID is too long",
  );
  assertEquals(
    code(() => s.update("c", "a", new Uint8Array(2049), [], MIN)),
    "invalid_argument:affiliate data is too big",
  );
  s.update("c", "a", new Uint8Array(2048), [], MIN);
  assertEquals(
    code(() => s.update("c", "a", b(1), [new Uint8Array(33)], MIN)),
    "invalid_argument:affiliate endpoint is too big",
  );
  assertEquals(
    code(() => s.update("c", "a", b(1), [], 30 * MIN + 1)),
    "invalid_argument:ttl is too large",
  );
  const many = Array.from({ length: 65 }, (_, i) => b(i));
  assertEquals(
    code(() => s.update("c", "a", b(1), many, MIN)),
    "resource_exhausted:too many endpoints",
  );
  s.update("c", "a", b(1), many.slice(0, 64), MIN);
  assertEquals(
    code(() => s.update("c", "a", b(1), [b(200)], MIN)),
    "resource_exhausted:too many endpoints for the affiliate",
  );
  for (let i = 1; i < 1024; i++) s.update("c", `n${i}`, b(1), [], MIN);
  assertEquals(
    code(() => s.update("c", "extra", b(1), [], MIN)),
    "resource_exhausted:too many affiliates in the cluster",
  );
});

Deno.test("DiscoveryState watchers see changes, deletions and expiry; not no-op refreshes", () => {
  const { s, advance } = setup();
  s.update("c", "a", b(1), [b(9)], MIN);
  const { snapshot, watcher } = s.watch("c");
  assertEquals(snapshot().map((a) => a.id), ["a"]);
  s.update("c", "a", b(1), [b(9)], MIN); // nothing new
  s.update("c", "b", b(2), [], 2 * MIN);
  s.update("c", "a", undefined, [b(8)], 10 * MIN); // endpoint lives longer
  s.delete("c", "b");
  // b's creation and deletion coalesce into the deletion, at b's place.
  assertEquals(drain(watcher), ["d:b", "u:a:2"]);
  advance(MIN + 1);
  s.gc();
  // data expired at +1 min but the new endpoint extended the affiliate: only b(9) expired.
  assertEquals(drain(watcher), ["u:a:1"]);
  advance(10 * MIN);
  s.gc();
  assertEquals(drain(watcher), ["d:a"]);
  s.unwatch("c", watcher);
  s.gc();
  assertEquals(s.stats(), { clusters: 0, affiliates: 0, watchers: 0 });
});

Deno.test("Watcher coalesces changes of one affiliate and is lost past its bound of distinct ones", () => {
  const w = new Watcher(3);
  const upd = (id: string, n: number): WatchEvent => ({
    kind: "update",
    affiliate: { id, data: b(n), endpoints: [] },
  });
  for (let n = 0; n < 100; n++) w.push(upd("a", n));
  w.push(upd("b", 1));
  w.push({ kind: "delete", id: "c" });
  assertEquals(w.size, 3);
  assert(!w.lost, "100 changes of one affiliate must not overflow");
  const first = w.next();
  assertEquals(first?.kind === "update" && first.affiliate.data[0], 99);
  w.push(upd("a", 5));
  w.push(upd("d", 1));
  assert(w.lost, "a fourth distinct affiliate overflows a bound of 3");
  assertEquals(w.next(), undefined);
});

Deno.test("DiscoveryState dump() / restore() keeps everything", () => {
  const { s } = setup();
  s.update("c", "a", b(1, 2), [b(3)], MIN);
  const t = setup();
  assertEquals(t.s.restore(JSON.parse(JSON.stringify(s.dump()))), 1);
  assertEquals(t.s.list("c"), s.list("c"));
});

function small(limits: Partial<typeof DEFAULT_LIMITS>) {
  return new DiscoveryState({ ...DEFAULT_LIMITS, ...limits }, () => 1_000_000);
}

function refusal(f: () => void): string {
  const e = assertThrows(f, DiscoveryRequestError);
  return `${e.code}:${e.message}`;
}

Deno.test("DiscoveryState caps affiliates over all clusters; refreshes and deletes still work when full", () => {
  const s = small({ totalAffiliatesMax: 3 });
  s.update("c1", "a", b(1), [], MIN);
  s.update("c1", "b", b(1), [], MIN);
  s.update("c2", "a", b(1), [], MIN);
  assertEquals(
    refusal(() => s.update("c3", "x", b(1), [], MIN)),
    "resource_exhausted:too many affiliates in the service (limit 3)",
  );
  assertEquals(
    refusal(() => s.update("c1", "x", b(1), [], MIN)),
    "resource_exhausted:too many affiliates in the service (limit 3)",
  );
  // The refused update left no empty cluster behind.
  assertEquals(s.stats(), { clusters: 2, affiliates: 3, watchers: 0 });
  s.update("c1", "a", b(2), [b(7)], MIN); // a known affiliate refreshes
  assertEquals(s.list("c1")[0]!.data, b(2));
  s.delete("c1", "b");
  s.update("c3", "x", b(1), [], MIN); // the freed slot is usable
  assertEquals(s.stats(), { clusters: 3, affiliates: 3, watchers: 0 });
});

Deno.test("DiscoveryState caps clusters, for updates and for Watch, and frees them in GC", () => {
  let t = 0;
  const s = new DiscoveryState(
    { ...DEFAULT_LIMITS, clustersMax: 2 },
    () => t,
  );
  s.update("c1", "a", b(1), [], MIN);
  const { watcher } = s.watch("c2"); // an empty, watched cluster counts
  const over = "resource_exhausted:too many clusters in the service (limit 2)";
  assertEquals(refusal(() => s.update("c3", "a", b(1), [], MIN)), over);
  assertEquals(refusal(() => s.watch("c3")), over);
  s.watch("c1"); // an existing cluster can always be watched
  s.unwatch("c2", watcher);
  t += MIN + 1;
  s.gc(); // c1 expired; c2 unwatched: both empty
  assertEquals(s.stats(), { clusters: 1, affiliates: 0, watchers: 1 });
  s.update("c3", "a", b(1), [], MIN);
  assertEquals(s.stats().clusters, 2);
});

Deno.test("DiscoveryState caps watchers in total", () => {
  const s = small({ watchersMax: 2 });
  const w1 = s.watch("c").watcher;
  s.watch("d");
  assertEquals(
    refusal(() => s.watch("c")),
    "resource_exhausted:too many watchers in the service (limit 2)",
  );
  s.unwatch("c", w1);
  s.unwatch("c", w1); // twice is harmless
  s.watch("c");
  assertEquals(s.stats().watchers, 2);
});

Deno.test("DiscoveryState restore() keeps to the totals", () => {
  const big = small({});
  for (let i = 0; i < 5; i++) {
    big.update(`c${i % 3}`, `a${i}`, b(i + 1), [b(i)], MIN);
  }
  const s = small({ totalAffiliatesMax: 4, clustersMax: 2 });
  assertEquals(s.restore(big.dump()), 4);
  assertEquals(s.stats(), { clusters: 2, affiliates: 4, watchers: 0 });
  assertEquals(s.list("c0").map((a) => [a.id, a.endpoints]), [
    ["a0", [b(0)]],
    ["a3", [b(3)]],
  ]);
});

Deno.test("DiscoveryState counts stay exact through delete, GC and unknown ids", () => {
  const { s, advance } = setup();
  s.update("c", "a", b(1), [], MIN);
  s.update("c", "b", b(1), [], 2 * MIN);
  s.delete("c", "a");
  s.delete("c", "a");
  s.delete("nope", "a");
  assertEquals(s.stats().affiliates, 1);
  advance(2 * MIN + 1);
  s.gc();
  assertEquals(s.stats(), { clusters: 0, affiliates: 0, watchers: 0 });
});
