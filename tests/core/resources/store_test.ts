import {
  REDACTED,
  redactSpec,
  type ResourceEvent,
  ResourceStore,
} from "../../../core/resources/store.ts";
import { RESOURCE_DEFINITIONS } from "../../../core/resources/definitions.ts";
import { assertEquals, assertThrows } from "../../_tools/assert.ts";

function store(now = () => 1000) {
  return new ResourceStore(RESOURCE_DEFINITIONS, now);
}

Deno.test("ResourceStore bumps the version only when the spec changes", () => {
  let t = 1000;
  const s = store(() => t);
  assertEquals(
    s.set("peerspecs", "k1", { label: "a", endpoints: [] }).version,
    1,
  );
  t = 2000;
  assertEquals(
    s.set("peerspecs", "k1", { label: "a", endpoints: [] }).version,
    1,
  );
  assertEquals(s.get("peerspecs", "k1")?.updated, 1000);
  const r = s.set("peerspecs", "k1", { label: "b", endpoints: [] });
  assertEquals([r.version, r.updated], [2, 2000]);
});

Deno.test("ResourceStore lists sorted by id and replaceAll deletes the rest", () => {
  const s = store();
  s.set("endpoints", "b", { endpoint: "2" });
  s.set("endpoints", "a", { endpoint: "1" });
  s.set("endpoints", "c", { endpoint: "3" });
  assertEquals(s.list("endpoints").map((r) => r.id), ["a", "b", "c"]);
  s.replaceAll(
    "endpoints",
    new Map([["c", { endpoint: "3" }], ["d", { endpoint: "4" }]]),
  );
  assertEquals(s.list("endpoints").map((r) => r.id), ["c", "d"]);
  assertEquals(s.delete("endpoints", "zz"), false);
});

Deno.test("ResourceStore redacts sensitive fields on every read and event", () => {
  const s = store();
  const events: ResourceEvent[] = [];
  s.watch((e) => events.push(e));
  s.set("identity", "local", {
    address: "fd00::1/128",
    privateKey: "SECRET-KEY",
    publicKey: "PUB",
  });
  s.set("config", "kubespan", {
    cluster: { id: "x", secret: "SECRET-CLUSTER" },
  });
  const everything = JSON.stringify([
    s.list("identity"),
    s.get("config", "kubespan"),
    events,
  ]);
  assertEquals(everything.includes("SECRET"), false);
  assertEquals(
    s.get<{ privateKey: string }>("identity", "local")!.spec.privateKey,
    REDACTED,
  );
  assertEquals(
    s.get<{ privateKey: string }>("identity", "local", {
      includeSensitive: true,
    })!.spec.privateKey,
    "SECRET-KEY",
  );
});

Deno.test("ResourceStore.watch() filters by type and unsubscribes", () => {
  const s = store();
  const seen: string[] = [];
  const stop = s.watch(
    (e) => seen.push(`${e.kind}:${e.resource.id}`),
    "peerstatuses",
  );
  s.set("peerstatuses", "p", { state: "up" });
  s.set("endpoints", "x", {});
  s.set("peerstatuses", "p", { state: "down" });
  s.delete("peerstatuses", "p");
  stop();
  s.set("peerstatuses", "q", { state: "up" });
  assertEquals(seen, ["created:p", "updated:p", "deleted:p"]);
  assertThrows(() => s.watch(() => {}, "nope"), RangeError, "known types");
});

Deno.test("ResourceStore.events() yields changes until aborted", async () => {
  const s = store();
  const abort = new AbortController();
  const got: string[] = [];
  const reader = (async () => {
    for await (const e of s.events(abort.signal, "plugins")) {
      got.push(e.resource.id);
      if (got.length === 2) abort.abort();
    }
  })();
  s.set("plugins", "a", { state: "running" });
  await new Promise((r) => setTimeout(r, 0));
  s.set("plugins", "b", { state: "running" });
  await reader;
  assertEquals(got, ["a", "b"]);
});

Deno.test("ResourceStore resolves KubeSpan aliases", () => {
  const s = store();
  assertEquals(s.resolveType("kubespanpeerstatuses")?.type, "peerstatuses");
  assertEquals(s.resolveType("KSI")?.type, "identity");
  assertEquals(s.resolveType("nothing"), undefined);
});

Deno.test("redactSpec() leaves absent paths alone", () => {
  assertEquals(redactSpec({ a: { b: 1 } }, ["a.c", "x.y"]), { a: { b: 1 } });
  assertEquals<unknown>(redactSpec({ a: { b: 1 } }, ["a.b"]), {
    a: { b: REDACTED },
  });
});
