/**
 * 1000 routes into table 180 of a fresh netns: our batched rtnetlink vs
 * `ip -batch` with the same routes. Prints both times and the ratio; never
 * fails on timing. Run as root: `deno run -A tests/bench/routes_bench.ts`.
 *
 * @module
 */
import { RtNetlink } from "../../ffi/rtnetlink/mod.ts";
import { addVeth, canUseNetns, runOk, withNetns } from "../_tools/netns.ts";

const N = 1000;
const reason = await canUseNetns();
if (reason) {
  console.log(`routes bench skipped: ${reason}`);
  Deno.exit(0);
}

const dests = Array.from(
  { length: N },
  (_, i) => `10.${i >> 8}.${i & 255}.0/24`,
);

await withNetns("bench-rt", async (ns) => {
  await addVeth(ns, "b0", "b1");
  const rt = await RtNetlink.open({ netns: ns });
  const routes = dests.map((destination) => ({
    destination,
    device: "b0",
    table: 180,
    metric: 1,
    mtu: 1420,
  }));
  const count = async () =>
    (await runOk("ip", ["-n", ns, "route", "show", "table", "180"])).trim()
      .split("\n").length;

  // warm up (JIT) with one full add + delete, as a long-running agent would be
  await rt.addRoutes(routes);
  await rt.deleteRoutes(routes);

  let t0 = performance.now();
  await rt.addRoutes(routes);
  const oursAdd = performance.now() - t0;
  const okOurs = (await count()) === N;
  t0 = performance.now();
  await rt.deleteRoutes(routes);
  const oursDel = performance.now() - t0;

  t0 = performance.now();
  const applied = await rt.applyRouting({
    addresses: [],
    rules: [],
    routes,
    tables: [180],
  });
  const oursApply = performance.now() - t0;
  // a no-op pass is what a long-running agent does every tick: the median
  // of 10 (the first ones still run cold code)
  const noops: number[] = [];
  let again = { added: 0, removed: 0 };
  for (let i = 0; i < 10; i++) {
    t0 = performance.now();
    again = await rt.applyRouting({
      addresses: [],
      rules: [],
      routes,
      tables: [180],
    });
    noops.push(performance.now() - t0);
  }
  const oursNoop = noops.sort((a, b) => a - b)[5]!;
  await runOk("ip", ["-n", ns, "route", "flush", "table", "180"]);

  const file = await Deno.makeTempFile({ suffix: ".ip" });
  await Deno.writeTextFile(
    file,
    dests.map((d) => `route add ${d} dev b0 table 180 metric 1 mtu 1420`).join(
      "\n",
    ) + "\n",
  );
  t0 = performance.now();
  await runOk("ip", ["-n", ns, "-batch", file]);
  const theirs = performance.now() - t0;
  const okTheirs = (await count()) === N;
  await Deno.remove(file);
  rt.close();

  const f = (x: number) => x.toFixed(1);
  console.log(`routes: ${N} into table 180 (netns ${ns})`);
  console.log(`  ours add (batched, 128/send): ${f(oursAdd)} ms  ok=${okOurs}`);
  console.log(`  ours delete (batched):        ${f(oursDel)} ms`);
  console.log(
    `  ours applyRouting from empty: ${f(oursApply)} ms  (+${applied.added})`,
  );
  console.log(
    `  ours applyRouting no-op (median of 10): ${
      f(oursNoop)
    } ms  (+${again.added} -${again.removed})`,
  );
  console.log(
    `  ip -batch (1 process):        ${f(theirs)} ms  ok=${okTheirs}`,
  );
  console.log(
    `  ratio ours/theirs (add):      ${(oursAdd / theirs).toFixed(2)}`,
  );
});
