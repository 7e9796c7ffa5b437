import {
  parsePortRange,
  RelayTable,
} from "../../../plugins/peer_relay/table.ts";
import { assertEquals, assertThrows } from "../../_tools/assert.ts";

const A = "a", B = "b", C = "c", D = "d";

Deno.test("RelayTable.join() legs only once both ends joined and one asks to use it", () => {
  const t = new RelayTable({ ports: [51900, 51999], maxPairs: 4 });
  assertEquals(t.join(A, B, true, 0), { joined: false });
  assertEquals(t.join(B, A, false, 100), { joined: true });
  assertEquals(t.join(B, A, true, 200), { joined: true, leg: 51901 });
  // The low key has the first leg; asking again answers the same legs.
  assertEquals(t.join(A, B, false, 300), { joined: true, leg: 51900 });
  assertEquals(t.allocations().map((a) => [a.pair, a.ports]), [
    [`${A}|${B}`, [51900, 51901]],
  ]);
  assertEquals(t.join(A, A, true, 0).refused, "a box cannot pair with itself");
});

Deno.test("RelayTable.join() refuses past the pair limit and the port range", () => {
  const t = new RelayTable({ ports: [51900, 51903], maxPairs: 1 });
  t.join(A, B, false, 0);
  assertEquals(t.join(B, A, true, 0).leg, 51901);
  t.join(C, D, false, 0);
  assertEquals(t.join(D, C, true, 0), {
    joined: true,
    refused: "relay full: 1 of 1 pairs",
  });
  const u = new RelayTable({ ports: [51900, 51902], maxPairs: 5 });
  u.join(A, B, false, 0);
  u.join(B, A, true, 0);
  u.join(C, D, false, 0);
  assertEquals(u.join(D, C, true, 0), {
    joined: true,
    refused: "relay out of leg ports",
  });
});

Deno.test("RelayTable.expire() forgets interests and releases idle pairs; use and traffic keep them", () => {
  const t = new RelayTable({
    ports: [51900, 51999],
    maxPairs: 4,
    interestTtlMs: 10_000,
    idleMs: 30_000,
  });
  t.join(A, B, false, 0);
  assertEquals(
    t.join(B, A, true, 11_000),
    { joined: false },
    "A's interest expired",
  );
  t.join(A, B, true, 12_000);
  t.join(B, A, false, 25_000); // asking without use does not keep it
  assertEquals(t.expire(41_000), []);
  t.touch(`${A}|${B}`, 148, 41_000);
  assertEquals(t.expire(70_000), []);
  const released = t.expire(71_000);
  assertEquals(released.map((a) => [a.pair, a.bytes]), [[`${A}|${B}`, 148]]);
  assertEquals(t.allocations(), []);
});

Deno.test("parsePortRange() reads lo-hi and says what to give", () => {
  assertEquals(parsePortRange("51900-51999"), [51900, 51999]);
  assertEquals(parsePortRange(" 100 - 101 "), [100, 101]);
  for (const bad of ["51900", "2-1", "0-5", "1-70000", "a-b"]) {
    assertThrows(() => parsePortRange(bad), RangeError, "such as 51900-51999");
  }
  assertThrows(
    () => new RelayTable({ ports: [5, 5], maxPairs: 1 }),
    RangeError,
    "at least two ports",
  );
});
