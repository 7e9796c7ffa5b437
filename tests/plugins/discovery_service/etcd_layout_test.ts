import { assert, assertEquals } from "../../_tools/assert.ts";
import {
  decodeAffiliate,
  encodeAffiliate,
  EtcdLayout,
} from "../../../plugins/discovery_service/server/etcd_layout.ts";
import {
  b64,
  prefixEnd,
  unb64,
} from "../../../plugins/discovery_service/server/etcd_gateway.ts";
import {
  discoveryServeCommand,
  parseStoreFlag,
} from "../../../plugins/discovery_service/server/cli.ts";
import { startServer } from "./_harness.ts";
import { admitCreations } from "../../../plugins/discovery_service/server/etcd_admission.ts";
import {
  mergeUpdate,
  sameRecord,
  sameView,
} from "../../../plugins/discovery_service/server/affiliate_record.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("etcd layout: ids are percent-encoded under <prefix>a/, and parse back", () => {
  const l = new EtcdLayout("/p");
  assertEquals(text(l.affiliateKey("c/1", "a b")), "/p/a/c%2F1/a%20b");
  assertEquals(text(l.affiliatesPrefix), "/p/a/");
  assertEquals(l.parseKey(l.affiliateKey("c/1", "a b")), {
    clusterId: "c/1",
    affiliateId: "a b",
  });
  assertEquals(l.parseKey(new TextEncoder().encode("/p/a/x")), undefined);
  assertEquals(l.parseKey(new TextEncoder().encode("/q/a/x/y")), undefined);
});

Deno.test("etcd layout: the value keeps data, expiry and each endpoint's expiry (golden)", () => {
  const rec = {
    id: "n1",
    data: new Uint8Array([0, 1, 255]),
    expiresAt: 1_700_000_000_123,
    endpoints: [{ key: "\u0001\u00ff", expiresAt: 1_700_000_000_000 }],
  };
  const bytes = encodeAffiliate(rec);
  assertEquals(
    text(bytes),
    '{"d":"AAH/","x":1700000000123,"e":[["Af8=",1700000000000]]}',
  );
  assertEquals(decodeAffiliate("n1", bytes), rec);
  assertEquals(
    decodeAffiliate("n1", new TextEncoder().encode("nope")),
    undefined,
  );
});

Deno.test("etcd gateway helpers: base64 both ways and the end of a prefix range", () => {
  assertEquals(b64("/t/a/"), "L3QvYS8=");
  assertEquals(unb64("L3QvYS8="), new TextEncoder().encode("/t/a/"));
  assertEquals(unb64(undefined), new Uint8Array());
  assertEquals(text(prefixEnd(new TextEncoder().encode("/t/a/"))), "/t/a0");
  assertEquals(prefixEnd(new Uint8Array([1, 0xff])), new Uint8Array([2]));
  assertEquals(prefixEnd(new Uint8Array([0xff])), new Uint8Array([0]));
});

Deno.test("--store: memory, or etcd://host:port,... (http, https with TLS); mistakes named", () => {
  assertEquals(parseStoreFlag(undefined, { tls: false }), { kind: "memory" });
  assertEquals(parseStoreFlag("memory", { tls: false }), { kind: "memory" });
  assertEquals(
    parseStoreFlag("etcd://10.0.0.1:2379,[fd00::1]:2379/", { tls: false }),
    {
      kind: "etcd",
      endpoints: ["http://10.0.0.1:2379", "http://[fd00::1]:2379"],
    },
  );
  assertEquals(parseStoreFlag("etcd://e1:2379", { tls: true }), {
    kind: "etcd",
    endpoints: ["https://e1:2379"],
  });
  const bad = parseStoreFlag("etcd://e1", { tls: false });
  assert(
    typeof bad === "string" && bad.includes('"e1" is not HOST:PORT'),
    String(bad),
  );
  const bad2 = parseStoreFlag("redis://x:1", { tls: false });
  assert(
    typeof bad2 === "string" && bad2.includes("--store must be"),
    String(bad2),
  );
});

Deno.test("merge: the rules both stores share (data resets expiry, endpoints merge, expiry-only is no event)", () => {
  const e = (n: number) => new Uint8Array([n]);
  const a = mergeUpdate(undefined, "x", e(1), [e(9)], 1000, 64);
  assert(a.changed);
  const same = mergeUpdate(a.next, "x", undefined, [e(9)], 2000, 64);
  assert(!same.changed, "only expiry grew: watchers are not told");
  assert(sameView(a.next, same.next) && !sameRecord(a.next, same.next));
  assertEquals(same.next.expiresAt, 2000);
  const shorter = mergeUpdate(same.next, "x", e(1), [], 500, 64);
  assertEquals(shorter.next.expiresAt, 500, "data resets the expiry");
  assertEquals(shorter.next.endpoints[0]!.expiresAt, 2000);
  assert(!shorter.changed);
  const added = mergeUpdate(a.next, "x", undefined, [e(8)], 1000, 64);
  assert(added.changed);
  assertEquals(added.next.endpoints.map((x) => x.key), ["\t", "\b"]);
  assertEquals(a.next.endpoints.length, 1, "the previous record is untouched");
});

Deno.test("discovery serve: --store mistakes and --state-file with etcd exit 2, naming the problem", async () => {
  const errors: string[] = [];
  const quiet = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    assertEquals(
      await discoveryServeCommand([
        "--listen",
        "127.0.0.1:0",
        "--store",
        "etcd:/x",
      ]),
      2,
    );
    assertEquals(
      await discoveryServeCommand([
        "--listen",
        "127.0.0.1:0",
        "--store",
        "etcd://127.0.0.1:1",
        "--state-file",
        "/tmp/x.json",
      ]),
      2,
    );
  } finally {
    console.error = quiet;
  }
  assert(errors[0]!.includes("--store must be"), errors[0]);
  assert(
    errors[1]!.includes("--state-file is for the memory store"),
    errors[1],
  );
});

Deno.test('memory store: /readyz is 200 "ready" (it cannot lose its store)', async () => {
  const srv = await startServer();
  try {
    const res = await fetch(`http://127.0.0.1:${srv.port}/readyz`);
    assertEquals([res.status, await res.text()], [200, "ready\n"]);
  } finally {
    await srv.close();
  }
});

Deno.test("admission: per-cluster, total and cluster limits over a batch, in order (golden)", () => {
  const held = new Map([["a", 2], ["b", 1]]);
  const watchedEmpty = new Set(["w"]);
  const counts = {
    total: 3,
    clusters: 3, // a, b, and w (watched here, no affiliate yet)
    inCluster: (c: string) => held.get(c) ?? 0,
    known: (c: string) => held.has(c) || watchedEmpty.has(c),
  };
  const limits = { affiliatesMax: 3, totalAffiliatesMax: 6, clustersMax: 4 };
  const items = ["a", "a", "w", "n1", "n2", "b", "b"].map((clusterId, i) => ({
    clusterId,
    i,
  }));
  const { admitted, refused } = admitCreations(items, counts, limits);
  assertEquals(admitted.map((x) => x.i), [0, 2, 3]);
  assertEquals(refused.map((r) => [r.item.i, r.why]), [
    [1, "too many affiliates in the cluster"],
    [4, "too many clusters in the service (limit 4)"],
    [5, "too many affiliates in the service (limit 6)"],
    [6, "too many affiliates in the service (limit 6)"],
  ]);
});
