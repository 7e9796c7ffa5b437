/**
 * The etcd store with real etcd (Debian `etcd-server`, 3 members on free
 * loopback ports, data in a temp dir) and discovery replicas as their own
 * processes: fan-out across replicas, limits across replicas, an etcd
 * member and a replica killed mid-run with every update and event counted,
 * a replica that loses etcd and resumes (also after compaction), restarts
 * and expiry.
 */
import { assert, assertEquals } from "../../_tools/assert.ts";
import {
  type EtcdCluster,
  etcdSkipReason,
  startEtcdCluster,
} from "../../_tools/etcd_cluster.ts";
import { rawClient, waitFor } from "./_harness.ts";
import {
  CountingWatcher,
  httpGet,
  LONG_TTL,
  type Replica,
  startBalancer,
  startReplica,
  ttlOf,
} from "./_etcd_replicas.ts";
import { exclusive } from "./_exclusive.ts";

const SKIP = await etcdSkipReason();
if (SKIP) console.log(`etcd store tests skipped: ${SKIP}`);

const enc = (s: string) => new TextEncoder().encode(s);

function etcdTest(name: string, fn: (etcd: EtcdCluster) => Promise<void>) {
  Deno.test({
    name,
    ignore: SKIP !== undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () =>
      exclusive("discovery-heavy-tests", async () => {
        const etcd = await startEtcdCluster();
        try {
          await fn(etcd);
        } finally {
          await etcd.stop();
        }
      }),
  });
}

async function withReplicas(
  replicas: Replica[],
  fn: () => Promise<void>,
): Promise<void> {
  try {
    await fn();
  } finally {
    for (const r of replicas) await r.kill();
  }
}

/** Which member leads the raft group now. */
async function leaderIndex(etcd: EtcdCluster): Promise<number> {
  const ids: string[] = [];
  let leader = "";
  for (const url of etcd.endpoints) {
    const st = await fetch(`${url}/v3/maintenance/status`, {
      method: "POST",
      body: "{}",
    }).then((r) => r.json()) as {
      header: { member_id: string };
      leader: string;
    };
    ids.push(st.header.member_id);
    leader = st.leader;
  }
  const i = ids.indexOf(leader);
  assert(i >= 0, `no leader among ${ids.join(", ")}`);
  return i;
}

/** Polls `/readyz` until it answers `status` (5 s at most); returns the answer. */
async function readyz(
  port: number,
  status: number,
): Promise<{ status: number; text: string }> {
  let r = { status: 0, text: "" };
  for (let i = 0; i < 50; i++) {
    r = await httpGet(port, "/readyz");
    if (r.status === status) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  assertEquals(r.status, status, `/readyz: ${r.text}`);
  return r;
}

/** Retries one AffiliateUpdate until it is accepted (as a real client does). */
async function publish(
  port: () => number,
  cluster: string,
  id: string,
  data: string,
  ttl = LONG_TTL,
): Promise<number> {
  for (let attempt = 1; attempt <= 50; attempt++) {
    try {
      await rawClient(port()).affiliateUpdate({
        clusterId: cluster,
        affiliateId: id,
        affiliateData: enc(data),
        ttl,
      }, { timeoutMs: 3_000 });
      return attempt;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`update ${id} never accepted`);
}

etcdTest(
  "etcd store: 2 replicas on 3-member etcd: every client sees every affiliate, updates via one replica reach watchers on the other, limits hold across replicas",
  async (etcd) => {
    const r1 = await startReplica(etcd.endpoints, ["--max-affiliates", "50"]);
    const r2 = await startReplica([...etcd.endpoints].reverse(), [
      "--max-affiliates",
      "50",
    ]);
    await withReplicas([r1, r2], async () => {
      assertEquals((await httpGet(r1.port, "/readyz")).status, 200);
      const ports = [r1.port, r2.port];
      const watchers = ports.flatMap((p) => [
        new CountingWatcher(p, "fleet", false),
        new CountingWatcher(p, "fleet", false),
      ]);
      await waitFor(
        () => watchers.every((w) => w.snapshots === 1),
        5_000,
        "snapshots",
      );
      // 4 clients, 2 per replica, 5 affiliates each.
      await Promise.all([0, 1, 2, 3].map(async (c) => {
        for (let i = 0; i < 5; i++) {
          await rawClient(ports[c % 2]!).affiliateUpdate({
            clusterId: "fleet",
            affiliateId: `c${c}-${i}`,
            affiliateData: enc(`v1-c${c}-${i}`),
            ttl: LONG_TTL,
          });
        }
      }));
      await waitFor(
        () => watchers.every((w) => w.state.size === 20),
        5_000,
        "20 affiliates on every watcher",
      );
      for (const p of ports) {
        const list = await rawClient(p).list({ clusterId: "fleet" });
        assertEquals(list.affiliates.length, 20, `List on replica :${p}`);
      }
      // An update through r1 reaches r2's watchers, and back.
      await rawClient(r1.port).affiliateUpdate({
        clusterId: "fleet",
        affiliateId: "c1-0",
        affiliateData: enc("v2"),
        ttl: LONG_TTL,
      });
      await rawClient(r2.port).affiliateDelete({
        clusterId: "fleet",
        affiliateId: "c2-0",
      });
      await waitFor(
        () =>
          watchers.every((w) =>
            w.state.get("c1-0") === "v2" && !w.state.has("c2-0")
          ),
        5_000,
        "update via r1 and delete via r2 on every watcher",
      );
      for (const w of watchers) {
        assertEquals([w.updates, w.deletes, w.duplicates], [21, 1, 0]);
      }
      await Promise.all(watchers.map((w) => w.stop()));

      // Limits across replicas: 19 held, the total is 50; both replicas
      // race to add 25 each: exactly 31 may get in.
      const results = await Promise.all(
        [r1.port, r2.port].map((p, k) =>
          Promise.all(
            Array.from({ length: 25 }, (_, i) =>
              rawClient(p).affiliateUpdate({
                clusterId: "race",
                affiliateId: `r${k}-${i}`,
                affiliateData: enc("x"),
                ttl: LONG_TTL,
              }).then(() => "ok", (e: Error) => e.message)),
          )
        ),
      );
      const flat = results.flat();
      const ok = flat.filter((r) => r === "ok").length;
      const refused = flat.filter((r) =>
        r.includes("too many affiliates in the service (limit 50)")
      ).length;
      console.log(
        `limit race: ${ok} accepted, ${refused} refused (limit 50, 19 held)`,
      );
      assertEquals([ok, refused], [31, 19]);
      for (const p of ports) {
        const m = await httpGet(p, "/metrics");
        assert(
          m.text.includes("edgespan_discovery_affiliates 50"),
          m.text.slice(0, 400),
        );
        assert(
          m.text.includes('edgespan_discovery_store_ready{store="etcd"} 1'),
        );
      }
    });
  },
);

etcdTest(
  "etcd store: an etcd member, then a replica killed mid-run: no accepted update lost, no duplicate event, clients of the dead replica converge on the other",
  async (etcd) => {
    // The member killed is the raft leader, and r1 talks to it first: its
    // watch moves and writes wait for a new leader.
    const leader = await leaderIndex(etcd);
    const order = [
      etcd.endpoints[leader]!,
      ...etcd.endpoints.filter((_, i) => i !== leader),
    ];
    const r1 = await startReplica(order);
    const r2 = await startReplica([...order].reverse());
    const alive = { r1: true, r2: true };
    // Two balancers: A prefers r1, B prefers r2; clients are spread over both.
    const lbA = startBalancer(() =>
      alive.r1 ? [r1.port, r2.port] : [r2.port, r1.port]
    );
    const lbB = startBalancer(() =>
      alive.r2 ? [r2.port, r1.port] : [r1.port, r2.port]
    );
    await withReplicas([r1, r2], async () => {
      const watchers = [lbA.port, lbA.port, lbB.port, lbB.port].map((p) =>
        new CountingWatcher(p, "fault", true)
      );
      await waitFor(
        () => watchers.every((w) => w.snapshots >= 1),
        5_000,
        "snapshots",
      );
      const accepted = new Set<string>();
      let retried = 0;
      let stop = false;
      const writers = [lbA.port, lbB.port, lbA.port, lbB.port].map(
        async (port, w) => {
          for (let i = 0; !stop; i++) {
            const id = `w${w}-${i}`;
            retried += (await publish(() => port, "fault", id, `d-${id}`)) - 1;
            accepted.add(id);
            await new Promise((r) => setTimeout(r, 15));
          }
        },
      );
      // Each phase lasts until 60 more updates were accepted (a leader
      // election after a member dies takes a moment).
      const progress = async (what: string) => {
        const from = accepted.size;
        await waitFor(() => accepted.size >= from + 60, 15_000, what);
      };
      await progress("updates before the faults");
      await etcd.members[leader]!.kill();
      const atMemberKill = accepted.size;
      await progress("updates after the etcd member was killed");
      alive.r2 = false;
      await r2.kill();
      const atReplicaKill = accepted.size;
      await progress("updates after the replica was killed");
      stop = true;
      await Promise.all(writers);
      const sent = accepted.size;
      await waitFor(
        () =>
          watchers.every((w) => [...accepted].every((id) => w.state.has(id))),
        10_000,
        "every watcher holding every accepted affiliate",
      );
      const list = await rawClient(r1.port).list({ clusterId: "fault" });
      const listed = new Set(list.affiliates.map((a) => a.id));
      const lost = [...accepted].filter((id) => !listed.has(id)).length;
      await Promise.all(watchers.map((w) => w.stop()));
      lbA.close();
      lbB.close();
      const lostOnWatchers = watchers.map((w) =>
        [...accepted].filter((id) => !w.state.has(id)).length
      );
      // Updates a client retried after an error may have been applied
      // already (then the retry changes nothing): at most those appear
      // beyond the accepted ones.
      const extra = list.affiliates.length - sent;
      console.log(
        `fault run: sent (accepted) ${sent} (${atMemberKill} before the etcd member was killed, ${atReplicaKill} before the replica was), ` +
          `retried calls ${retried}, in etcd ${list.affiliates.length}, lost ${lost}; per watcher: ` +
          watchers.map((w, i) =>
            `#${i} ${w.state.size} held, ${w.updates} updates, ${w.duplicates} duplicates, ${w.streams} streams, lost ${
              lostOnWatchers[i]
            }`
          ).join("; "),
      );
      assertEquals(lost, 0, "accepted updates missing from etcd");
      assertEquals(lostOnWatchers, [0, 0, 0, 0]);
      assertEquals(watchers.map((w) => w.duplicates), [0, 0, 0, 0]);
      assert(
        extra >= 0 && extra <= retried,
        `extra ${extra} > retried ${retried}`,
      );
      // r1's watchers never lost their stream: they saw every affiliate
      // exactly once, as an event (after their snapshot).
      for (const w of watchers.slice(0, 2)) {
        assertEquals(w.streams, 1);
        assertEquals(w.updates, list.affiliates.length);
      }
      // r2's watchers reconnected (through B) to r1 and converged.
      for (const w of watchers.slice(2)) {
        assert(
          w.streams >= 2,
          `a client of the dead replica reconnected (${w.streams})`,
        );
        assertEquals(w.state.size, list.affiliates.length);
      }
      assert(
        atMemberKill > 0 && atReplicaKill > atMemberKill &&
          sent > atReplicaKill,
      );
    });
  },
);

etcdTest(
  "etcd store: a replica that loses etcd refuses writes and says so in /readyz, then resumes from its revision (and after a compaction) without losing or repeating events",
  async (etcd) => {
    const [m1, m2, m3] = etcd.members as [
      typeof etcd.members[0],
      typeof etcd.members[0],
      typeof etcd.members[0],
    ];
    const r1 = await startReplica([m1.clientUrl, m2.clientUrl]);
    const r2 = await startReplica([m3.clientUrl]); // knows only member 3
    await withReplicas([r1, r2], async () => {
      const w2 = new CountingWatcher(r2.port, "c", false);
      await waitFor(() => w2.snapshots === 1, 5_000, "snapshot");
      await publish(() => r1.port, "c", "a0", "v0");
      await waitFor(() => w2.state.has("a0"), 5_000, "a0 on r2");

      await m3.kill();
      const ready = await readyz(r2.port, 503);
      assert(ready.text.startsWith("not ready: etcd"), ready.text);
      const refused = await rawClient(r2.port).affiliateUpdate({
        clusterId: "c",
        affiliateId: "z",
        affiliateData: enc("z"),
        ttl: LONG_TTL,
      }).then(() => "accepted", (e: Error) => e.message);
      assert(
        refused.includes("Unavailable") ||
          refused.includes("cannot reach etcd"),
        refused,
      );
      // Meanwhile r1 (quorum: members 1 and 2) takes updates.
      for (let i = 1; i <= 5; i++) {
        await publish(() => r1.port, "c", `a${i}`, `v${i}`);
      }
      await rawClient(r1.port).affiliateDelete({
        clusterId: "c",
        affiliateId: "a0",
      });

      m3.start();
      await waitFor(
        () => w2.state.size === 5 && !w2.state.has("a0"),
        15_000,
        "r2 caught up",
      );
      await readyz(r2.port, 200);
      assertEquals([w2.updates, w2.deletes, w2.duplicates, w2.streams], [
        6,
        1,
        0,
        1,
      ]);

      // Again, but etcd compacts the history r2 missed: r2 re-reads and
      // tells its watchers only what changed.
      await m3.kill();
      await readyz(r2.port, 503);
      await publish(() => r1.port, "c", "a1", "v1-new");
      await publish(() => r1.port, "c", "b1", "b1");
      await rawClient(r1.port).affiliateDelete({
        clusterId: "c",
        affiliateId: "a2",
      });
      await publish(() => r1.port, "c", "a3", "v3"); // same data: no event
      const head = await fetch(`${m1.clientUrl}/v3/kv/range`, {
        method: "POST",
        body: JSON.stringify({ key: btoa("x") }),
      }).then((r) => r.json()) as { header: { revision: string } };
      const compact = await fetch(`${m1.clientUrl}/v3/kv/compaction`, {
        method: "POST",
        body: JSON.stringify({
          revision: head.header.revision,
          physical: true,
        }),
      });
      assertEquals(compact.status, 200);
      await compact.body?.cancel();
      m3.start();
      await waitFor(
        () =>
          w2.state.get("a1") === "v1-new" && w2.state.has("b1") &&
          !w2.state.has("a2"),
        15_000,
        "r2 caught up after the compaction",
      );
      await new Promise((r) => setTimeout(r, 300));
      assertEquals([w2.updates, w2.deletes, w2.duplicates, w2.streams], [
        8,
        2,
        0,
        1,
      ]);
      const m = await httpGet(r2.port, "/metrics");
      assert(
        /edgespan_discovery_store_events_total\{kind="reload"\} [1-9]/.test(
          m.text,
        ),
        "reload counted",
      );
      await w2.stop();
    });
  },
);

etcdTest(
  "etcd store: all replicas restarted keep the state; expiry on time (GC), and by lease while no replica runs",
  async (etcd) => {
    let r1 = await startReplica(etcd.endpoints);
    let r2 = await startReplica([...etcd.endpoints].reverse());
    const started: Replica[] = [r1, r2];
    await withReplicas(started, async () => {
      for (let i = 0; i < 10; i++) {
        await publish(() => r1.port, "t", `long-${i}`, "L");
      }
      // Expires while no replica runs: only the lease can remove it.
      await publish(() => r2.port, "t", "orphan", "O", ttlOf(1));
      await r1.kill();
      await r2.kill();
      const key = btoa("/edgespan/discovery/a/t/orphan");
      const count = async () =>
        (await fetch(`${etcd.endpoints[1]}/v3/kv/range`, {
          method: "POST",
          body: JSON.stringify({ key, count_only: true }),
        }).then((r) => r.json()) as { count?: string }).count ?? "0";
      assertEquals(await count(), "1");
      const t0 = Date.now();
      while ((await count()) !== "0" && Date.now() - t0 < 8_000) {
        await new Promise((r) => setTimeout(r, 200));
      }
      assertEquals(
        await count(),
        "0",
        "the lease removed the expired affiliate",
      );

      r1 = await startReplica(etcd.endpoints);
      r2 = await startReplica([...etcd.endpoints].reverse());
      started.push(r1, r2);
      for (const r of [r1, r2]) {
        const list = await rawClient(r.port).list({ clusterId: "t" });
        assertEquals(
          list.affiliates.map((a) => a.id).sort(),
          Array.from({ length: 10 }, (_, i) => `long-${i}`).sort(),
        );
      }
      // Short TTLs set through r1 expire on time for r2's watchers.
      const w = new CountingWatcher(r2.port, "t", false);
      await waitFor(() => w.snapshots === 1, 5_000, "snapshot");
      const sentAt = new Map<string, number>();
      for (let i = 0; i < 5; i++) {
        // Taken before the call: the replica's expiry is at least this + 2 s.
        sentAt.set(`short-${i}`, Date.now());
        await publish(() => r1.port, "t", `short-${i}`, "S", ttlOf(2));
      }
      await waitFor(() => w.deleteTimes.size === 5, 8_000, "5 expiries");
      const late = [...sentAt].map(([id, t]) => w.deleteTimes.get(id)! - t);
      console.log(
        `expiry after a 2 s TTL: ${late.map((ms) => `${ms} ms`).join(", ")}`,
      );
      for (const ms of late) {
        assert(ms >= 2_000 && ms <= 3_500, `expired after ${ms} ms`);
      }
      assertEquals(w.state.size, 10);
      await w.stop();
    });
  },
);

etcdTest(
  "etcd store: a replica that has not read etcd yet refuses Watch and List (no empty snapshot), then serves every affiliate and every later update",
  async (etcd) => {
    const r1 = await startReplica(etcd.endpoints);
    // r2 reaches etcd only through a balancer that refuses until opened.
    let open = false;
    const etcdPorts = etcd.endpoints.map((u) => Number(new URL(u).port));
    const balancer = startBalancer(() => open ? etcdPorts : []);
    const r2 = await startReplica([`http://127.0.0.1:${balancer.port}`]);
    await withReplicas([r1, r2], async () => {
      try {
        for (let i = 0; i < 3; i++) {
          await rawClient(r1.port).affiliateUpdate({
            clusterId: "late",
            affiliateId: `a${i}`,
            affiliateData: enc(`v1-a${i}`),
            ttl: LONG_TTL,
          });
        }
        const ready = await httpGet(r2.port, "/readyz");
        assertEquals(ready.status, 503, ready.text);
        // A Watch now would get a snapshot of nothing: refused instead.
        let refused = "";
        try {
          for await (
            const _ of rawClient(r2.port).watch({ clusterId: "late" })
          ) break;
        } catch (err) {
          refused = (err as Error).message;
        }
        assert(
          /not read the clusters from etcd yet/.test(refused),
          `Watch before the first read: ${refused || "a snapshot was sent"}`,
        );
        const list = await rawClient(r2.port).list({ clusterId: "late" })
          .then(() => "answered", (err) => (err as Error).message);
        assert(/not read the clusters/.test(list), `List: ${list}`);
        open = true;
        await waitFor(
          () => r2.log().includes("watching etcd"),
          10_000,
          "r2 to read etcd",
        );
        const watcher = new CountingWatcher(r2.port, "late", true);
        try {
          await waitFor(
            () => watcher.state.size === 3,
            5_000,
            "r2's snapshot to hold the 3 affiliates",
          );
          await rawClient(r1.port).affiliateUpdate({
            clusterId: "late",
            affiliateId: "a3",
            affiliateData: enc("v1-a3"),
            ttl: LONG_TTL,
          });
          await waitFor(
            () => watcher.state.get("a3") === "v1-a3",
            5_000,
            "an update through r1 on r2's watcher",
          );
          assertEquals(watcher.snapshots, 1);
          assertEquals(watcher.duplicates, 0);
        } finally {
          await watcher.stop();
        }
      } finally {
        balancer.close();
      }
    });
  },
);
