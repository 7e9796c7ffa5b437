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
