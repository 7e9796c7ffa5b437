import { ReconcileLoop } from "../../../core/reconcile/loop.ts";
import { assertEquals } from "../../_tools/assert.ts";

Deno.test("ReconcileLoop coalesces requests made during a pass and never overlaps", async () => {
  const reasons: string[] = [];
  let active = 0;
  let maxActive = 0;
  const loop = new ReconcileLoop({
    intervalMs: 60_000,
    pass: async (reason) => {
      active++;
      maxActive = Math.max(maxActive, active);
      reasons.push(reason);
      await new Promise((r) => setTimeout(r, 20));
      active--;
    },
  });
  loop.start();
  loop.request("a");
  loop.request("b");
  loop.request("c");
  await loop.idle();
  await loop.stop();
  assertEquals(reasons, ["start", "a"]);
  assertEquals(maxActive, 1);
  assertEquals(loop.stats.runs, 2);
});

Deno.test("ReconcileLoop ticks, counts errors and recovers", async () => {
  let n = 0;
  const errors: unknown[] = [];
  const loop = new ReconcileLoop({
    intervalMs: 10,
    pass: () => {
      n++;
      return n === 2
        ? Promise.reject(new Error("transient"))
        : Promise.resolve();
    },
    onError: (e) => errors.push(e),
  });
  loop.start();
  while (n < 4) await new Promise((r) => setTimeout(r, 5));
  await loop.stop();
  const runs = loop.stats.runs;
  await new Promise((r) => setTimeout(r, 30));
  assertEquals(loop.stats.runs, runs, "no pass after stop");
  assertEquals(loop.stats.errors, 1);
  assertEquals(errors.length, 1);
  assertEquals(loop.stats.lastError, "");
});

Deno.test("ReconcileLoop.after() runs a pass before the tick, once, and a pass in between cancels it", async () => {
  const reasons: string[] = [];
  const loop = new ReconcileLoop({
    intervalMs: 60_000,
    pass: (reason) => {
      reasons.push(reason);
      return Promise.resolve();
    },
  });
  loop.start();
  await loop.idle();
  loop.after(10, "soon");
  loop.after(20, "sooner or later");
  await new Promise((r) => setTimeout(r, 60));
  assertEquals(reasons, ["start", "sooner or later"]);
  loop.after(30, "cancelled");
  loop.request("discovery");
  await new Promise((r) => setTimeout(r, 60));
  assertEquals(reasons, ["start", "sooner or later", "discovery"]);
  loop.after(10, "after stop");
  await loop.stop();
  await new Promise((r) => setTimeout(r, 30));
  assertEquals(reasons.length, 3);
});

Deno.test("ReconcileLoop.lookAfter runs the look alone, a pass only when it answers true, and never during a pass", async () => {
  const log: string[] = [];
  let passing = false;
  const loop = new ReconcileLoop({
    intervalMs: 60_000,
    pass: async (reason) => {
      passing = true;
      log.push(`pass:${reason}`);
      await new Promise((r) => setTimeout(r, 30));
      passing = false;
    },
  });
  loop.start();
  await loop.idle();
  let answer = false;
  const look = () => {
    log.push(passing ? "look during a pass" : "look");
    return Promise.resolve(answer);
  };
  loop.lookAfter(5, "landed", look);
  await new Promise((r) => setTimeout(r, 20));
  await loop.idle();
  answer = true;
  loop.lookAfter(5, "landed", look);
  await new Promise((r) => setTimeout(r, 20));
  await loop.idle();
  // A pass that starts first cancels the look (it schedules anew itself).
  loop.lookAfter(20, "landed", look);
  loop.request("discovery");
  await new Promise((r) => setTimeout(r, 60));
  await loop.idle();
  // A look that fails is a pass.
  loop.lookAfter(1, "landed", () => Promise.reject(new Error("no device")));
  await new Promise((r) => setTimeout(r, 20));
  await loop.idle();
  await loop.stop();
  assertEquals(log, [
    "pass:start",
    "look",
    "look",
    "pass:landed",
    "pass:discovery",
    "pass:landed",
  ]);
});
