/**
 * Keys and the answer cache of sandboxed synchronous hooks (pure).
 */
import {
  type Answer,
  AnswerCache,
  inputKey,
  stableKey,
} from "../../../plugins/external/answers.ts";
import { assert, assertEquals, assertNotEquals } from "../../_tools/assert.ts";

Deno.test("stableKey: equal values give equal keys, in any key or set order", () => {
  assertEquals(stableKey({ b: 1, a: [1, "x"] }), '{"a":[1,"x"],"b":1}');
  assertEquals(stableKey({ a: 1, b: undefined }), stableKey({ a: 1 }));
  assertEquals(stableKey(new Set(["b", "a"])), 'Set("a","b")');
  assertEquals(stableKey(new Set(["a", "b"])), stableKey(new Set(["b", "a"])));
  assertNotEquals(stableKey(new Set(["a"])), stableKey(new Set(["b"])));
  assertEquals(stableKey(new Map([["k", 1]])), 'Map("k"=>1)');
  assertEquals(stableKey(undefined), "undefined");
  assertEquals(stableKey(null), "null");
  assertNotEquals(stableKey("1"), stableKey(1));
});

Deno.test("inputKey leaves out the pass context, and keys bypass by peer, state and prefixes", () => {
  const peer = (passId: number) => ({
    publicKey: "k",
    label: "b",
    pass: { passId, now: passId * 1000 },
  });
  assertEquals(
    inputKey("endpointFilter", "accepted", [["1.2.3.4:5"], peer(1)]),
    inputKey("endpointFilter", "accepted", [["1.2.3.4:5"], peer(2)]),
  );
  assertEquals(
    inputKey("endpointFilter", "accepted", [["1.2.3.4:5"], peer(1)]),
    'endpointFilter.accepted:[["1.2.3.4:5"],{"label":"b","publicKey":"k"}]',
  );
  const view = (state: string, rx: number) => ({
    publicKey: "k",
    spec: { allowedIPs: ["10.0.0.0/8"], address: "", endpoints: [], label: "" },
    status: { state, receiveBytes: rx },
  });
  assertEquals(
    inputKey("downPeerBypass", "forcedPeers", [[view("up", 1)]]),
    inputKey("downPeerBypass", "forcedPeers", [[view("up", 999)]]),
  );
  assertNotEquals(
    inputKey("downPeerBypass", "forcedPeers", [[view("up", 1)]]),
    inputKey("downPeerBypass", "forcedPeers", [[view("down", 1)]]),
  );
});

function answer(value: unknown): Answer {
  return {
    group: "g",
    method: "m",
    args: [],
    outcome: { ok: true, value },
    signature: stableKey(value),
  };
}

Deno.test("AnswerCache tells a changed answer and drops the least recently used", () => {
  const cache = new AnswerCache(2);
  assert(cache.set("a", answer([1])), "new");
  assert(!cache.set("a", answer([1])), "same answer: no change");
  assert(cache.set("a", answer([2])), "changed");
  cache.set("b", answer([1]));
  cache.get("a"); // a is now the most recent
  cache.set("c", answer([1]));
  assertEquals(cache.entries().map(([k]) => k), ["a", "c"]);
  assertEquals(cache.size, 2);
});
