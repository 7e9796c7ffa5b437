import {
  chooseRelay,
  fnv1a,
  pairKey,
  preferredRelay,
  rankRelays,
  type RelayView,
} from "../../../plugins/peer_relay/choice.ts";
import { assertEquals } from "../../_tools/assert.ts";

const K = (c: string) => c.repeat(43) + "=";
const [A, B, C, D, E] = ["A", "B", "C", "D", "E"].map(K) as [
  string,
  string,
  string,
  string,
  string,
];
const relays = (...keys: string[]) => keys.map((key) => ({ key, priority: 0 }));

Deno.test("fnv1a() golden vectors", () => {
  assertEquals(fnv1a(""), 0x811c9dc5);
  assertEquals(fnv1a("a"), 0xe40c292c);
  assertEquals(fnv1a("edgespan"), 463540100);
});

Deno.test("pairKey() is the same from both ends", () => {
  assertEquals(pairKey(B, A), `${A}|${B}`);
  assertEquals(pairKey(A, B), pairKey(B, A));
});

Deno.test("rankRelays() both ends rank alike, never a member, golden order", () => {
  assertEquals(rankRelays(A, B, relays(C, D, E)), [C, E, D]);
  assertEquals(rankRelays(B, A, relays(E, C, D, D)), [C, E, D]);
  assertEquals(rankRelays(A, B, relays(A, B, C)), [C]);
});

Deno.test("rankRelays() a higher priority goes first", () => {
  assertEquals(
    rankRelays(A, B, [{ key: C, priority: 0 }, { key: D, priority: 1 }, {
      key: E,
      priority: 0,
    }]),
    [D, C, E],
  );
});

const NOW = 1_000_000;
function view(key: string, extra: Partial<RelayView> = {}): RelayView {
  return { key, label: key[0]!, up: true, host: "203.0.113.5", ...extra };
}

Deno.test("preferredRelay() the first usable relay the other end joined too", () => {
  const views = new Map([
    [C, view(C, { answer: { at: NOW, joined: false } })],
    [E, view(E, { answer: { at: NOW, joined: true } })],
    [D, view(D, { answer: { at: NOW, joined: true } })],
  ]);
  assertEquals(preferredRelay([C, E, D], views, NOW)?.key, E);
  views.set(E, view(E, { answer: { at: NOW, joined: true, refused: "full" } }));
  assertEquals(preferredRelay([C, E, D], views, NOW)?.key, D, "refused: next");
  views.set(D, view(D, { up: false, answer: { at: NOW, joined: true } }));
  assertEquals(preferredRelay([C, E, D], views, NOW), undefined, "not up");
});

Deno.test("chooseRelay() the first usable relay with a fresh leg", () => {
  const views = new Map([
    [C, view(C, { answer: { at: NOW - 10_000, joined: true, leg: 51900 } })],
    [E, view(E, { answer: { at: NOW, joined: true, leg: 51901 } })],
    [D, view(D, { answer: { at: NOW, joined: true, leg: 51902 } })],
  ]);
  assertEquals(chooseRelay([C, E, D], views, NOW), {
    relay: E,
    label: "E",
    endpoint: "203.0.113.5:51901",
  });
  views.set(
    E,
    view(E, { failedUntil: NOW + 1, answer: views.get(E)!.answer! }),
  );
  assertEquals(chooseRelay([C, E, D], views, NOW)?.relay, D, "failed: next");
  views.set(D, view(D, { host: "2001:db8::5", answer: views.get(D)!.answer! }));
  assertEquals(
    chooseRelay([C, E, D], views, NOW)?.endpoint,
    "[2001:db8::5]:51902",
  );
  assertEquals(chooseRelay([C], views, NOW), undefined, "stale answer");
});
