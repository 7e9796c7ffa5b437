/**
 * Benchmark: 1000 peers on one wireguard-go device configured through our
 * UAPI backend vs `wg setconf` with the same config, and a full read-back of
 * 1000 peers through ours vs `wg show <if> dump`. Prints medians and ratios
 * (ours/theirs) measured in the same run; never fails on timing.
 *
 *   deno run -A tests/bench/wg_bench.ts [peers=1000] [rounds=9]
 *
 * The kernel variant runs inside the VM tier (tests/vm/run.sh prints
 * `@@bench kernel ...` lines).
 */
import { UserspaceWireGuard } from "../../ffi/wireguard/uapi.ts";
import { WireGuardGo } from "../../ffi/wireguard/wireguard_go.ts";
import { randomSuffix, runOk, withNetns } from "../_tools/netns.ts";
import {
  peerConfig,
  peerConfigs,
  randomPrivateKey,
  wgConf,
} from "../ffi/wireguard/_wg_dump.ts";
import { userspaceSkipReason } from "../ffi/wireguard/_userspace_env.ts";

const n = Number(Deno.args[0] ?? 1000);
const rounds = Number(Deno.args[1] ?? 9);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const skip = await userspaceSkipReason();
if (skip) {
  console.log(`skip wg benchmark: ${skip}`);
  Deno.exit(0);
}

await withNetns("wgbench", async (ns) => {
  const sfx = randomSuffix().slice(0, 6);
  const ours = `wgo${sfx}`;
  const theirs = `wgt${sfx}`;
  const procs = [
    await WireGuardGo.start(ours, { testNetns: ns }),
    await WireGuardGo.start(theirs, { testNetns: ns }),
  ];
  const wg = new UserspaceWireGuard();
  const priv = randomPrivateKey();
  const peers = peerConfigs(n);
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  const empty = await Deno.makeTempFile({ suffix: ".conf" });
  try {
    await Deno.writeTextFile(conf, wgConf(priv, 40001, peers));
    await Deno.writeTextFile(empty, wgConf(priv, 40001, []));
    const t = {
      set: [] as number[],
      wgSet: [] as number[],
      get: [] as number[],
      dump: [] as number[],
    };
    const settle = () => new Promise((r) => setTimeout(r, 150));
    const oursSet = () =>
      timed(() =>
        wg.configure(ours, {
          privateKey: priv,
          listenPort: 40000,
          replacePeers: true,
          peers: peers.map(peerConfig),
        })
      );
    const theirsSet = () => timed(() => runOk("wg", ["setconf", theirs, conf]));
    let got = 0;
    const oursGet = () =>
      timed(async () => {
        got = (await wg.device(ours)).peers.length;
      });
    const theirsGet = () => timed(() => runOk("wg", ["show", ours, "dump"]));
    // warm up (JIT) untimed, as a long-running agent is (it reads the
    // device twice a pass); routes_bench does the same
    await oursSet();
    await theirsSet();
    for (let i = 0; i < 10; i++) await oursGet();
    for (let r = 0; r < rounds; r++) {
      // Start every round from an empty device on both sides, and let
      // wireguard-go finish tearing down the old peers before timing; the
      // side measured first alternates, so neither pays for the other.
      await wg.configure(ours, { replacePeers: true, peers: [] });
      await runOk("wg", ["setconf", theirs, empty]);
      await settle();
      const first = r % 2 === 0;
      if (first) t.set.push(await oursSet());
      t.wgSet.push(await theirsSet());
      if (!first) t.set.push(await oursSet());
      await settle();
      if (first) t.get.push(await oursGet());
      t.dump.push(await theirsGet());
      if (!first) t.get.push(await oursGet());
      if (got !== n) throw new Error(`read back ${got} peers, want ${n}`);
    }
    const f = (x: number) => `${x.toFixed(1)}ms`;
    const ratio = (a: number[], b: number[]) => {
      const each = a.map((x, i) => x / b[i]!);
      return `${(median(a) / median(b)).toFixed(2)} (rounds ${
        Math.min(...each).toFixed(2)
      }–${Math.max(...each).toFixed(2)})`;
    };
    console.log(
      `userspace wireguard-go, ${n} peers, median of ${rounds} rounds`,
    );
    console.log(
      `configure: ours(UAPI)=${f(median(t.set))} wg-setconf=${
        f(median(t.wgSet))
      } ratio=${ratio(t.set, t.wgSet)}`,
    );
    console.log(
      `read-back: ours(UAPI)=${f(median(t.get))} wg-show-dump=${
        f(median(t.dump))
      } ratio=${ratio(t.get, t.dump)}`,
    );
  } finally {
    for (const p of procs) await p.stop();
    await Deno.remove(conf);
    await Deno.remove(empty);
  }
});
