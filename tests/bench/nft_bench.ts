/**
 * 1000 interval-set elements: one nfnetlink batch from us vs `nft -f`
 * with the same table, set and elements. Prints both times and the ratio;
 * never fails on timing. Run as root: `deno run -A tests/bench/nft_bench.ts`.
 *
 * @module
 */
import { Nftables, type NftTableSpec } from "../../ffi/nftables/mod.ts";
import {
  canUseNetns,
  nftJson,
  run,
  runOk,
  withNetns,
} from "../_tools/netns.ts";

const N = 1000;
const reason = (await canUseNetns()) ??
  ((await run("nft", ["--version"])).code === 0
    ? undefined
    : "nft is not installed");
if (reason) {
  console.log(`nft bench skipped: ${reason}`);
  Deno.exit(0);
}

// every other /24, so no two elements merge
const prefixes = Array.from(
  { length: N },
  (_, i) => `10.${i >> 7}.${(i & 127) * 2}.0/24`,
);
const spec: NftTableSpec = {
  family: "inet",
  name: "bench",
  sets: [{ name: "s4", type: "ipv4_addr", interval: true, elements: prefixes }],
};
const script = `table inet bench {
  set s4 {
    type ipv4_addr
    flags interval
    elements = { ${prefixes.join(", ")} }
  }
}
`;

await withNetns("bench-nft", async (ns) => {
  const nft = await Nftables.open({ netns: ns });
  const count = async () => {
    const items = await nftJson(ns, ["list", "set", "inet", "bench", "s4"]);
    const set = items.find((x) => x.set)?.set as
      | { elem?: unknown[] }
      | undefined;
    return set?.elem?.length ?? 0;
  };
  await nft.replaceTable({
    ...spec,
    sets: [{ ...spec.sets![0]!, elements: prefixes.slice(0, 5) }],
  });

  let t0 = performance.now();
  await nft.replaceTable(spec);
  const ours = performance.now() - t0;
  const okOurs = (await count()) === N;
  t0 = performance.now();
  await nft.replaceTable(spec);
  const oursReplace = performance.now() - t0;
  await nft.deleteTable("inet", "bench");

  const file = await Deno.makeTempFile({ suffix: ".nft" });
  await Deno.writeTextFile(file, script);
  t0 = performance.now();
  await runOk("ip", ["netns", "exec", ns, "nft", "-f", file]);
  const theirs = performance.now() - t0;
  const okTheirs = (await count()) === N;
  await Deno.remove(file);
  nft.close();

  const f = (x: number) => x.toFixed(1);
  console.log(`nft: table + interval set with ${N} prefixes (netns ${ns})`);
  console.log(`  ours (1 batch, new table):       ${f(ours)} ms  ok=${okOurs}`);
  console.log(`  ours (replace existing table):   ${f(oursReplace)} ms`);
  console.log(
    `  nft -f (1 process, incl. start): ${f(theirs)} ms  ok=${okTheirs}`,
  );
  console.log(
    `  ratio ours/theirs:               ${(ours / theirs).toFixed(2)}`,
  );
});
