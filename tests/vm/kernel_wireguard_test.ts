/**
 * The VM tier: boots a Debian cloud kernel under qemu TCG ONCE (via
 * tests/vm/run.sh) and runs the kernel WireGuard suite
 * (tests/vm/guest/*_test.ts) plus the rtnetlink, nftables and kernel
 * WireGuard binding tests inside it, then asserts on the guest's results.
 */
import { assert, assertEquals, assertMatch } from "../_tools/assert.ts";
import { run } from "../_tools/netns.ts";

const here = new URL(".", import.meta.url).pathname;
const script = `${here}run.sh`;
const repo = new URL("../../", import.meta.url).pathname;

/** Extra host test files that also run in the guest, when present. */
const EXTRA = [
  "tests/ffi/rtnetlink/rtnetlink_test.ts",
  "tests/ffi/nftables/nftables_test.ts",
  "tests/ffi/wireguard/kernel_test.ts",
  "tests/ffi/wireguard/kernel_device_test.ts",
  "tests/ffi/wireguard/client_test.ts",
  "tests/ffi/wireguard/interface_test.ts",
  "tests/ffi/wireguard/wireguard_go_test.ts",
  "tests/ffi/wireguard/ping_test.ts",
];

async function skipReason(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "the VM tier needs Linux";
  if (Deno.uid() !== 0) return "the VM tier needs root (apt-get download)";
  for (const tool of ["qemu-system-x86_64", "cpio", "modprobe"]) {
    const r = await run("sh", ["-c", `command -v ${tool}`]);
    if (r.code !== 0) {
      return `${tool} is not installed (see tests/apt-packages.txt)`;
    }
  }
  const r = await run("bash", [script, "--prepare"]);
  if (r.code !== 0) {
    return `cannot get the Debian kernel: ${
      (r.stdout + r.stderr).trim().split("\n").at(-1)
    }`;
  }
  return undefined;
}

const skip = await skipReason();
if (skip) console.log(`skip VM tier: ${skip}`);

interface VmRun {
  code: number;
  log: string;
  stderr: string;
}

let vm: Promise<VmRun> | undefined;

/** Boots the VM once for every test in this file. */
function bootOnce(): Promise<VmRun> {
  vm ??= (async () => {
    const extra = [];
    for (const f of EXTRA) {
      if (await Deno.stat(`${repo}${f}`).then(() => true, () => false)) {
        extra.push(f);
      }
    }
    const t0 = performance.now();
    const r = await new Deno.Command("bash", {
      args: [script],
      env: { DENO_BIN: Deno.execPath(), VM_EXTRA_TESTS: extra.join(" ") },
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).output();
    const log = new TextDecoder().decode(r.stdout);
    for (const line of log.split("\n")) {
      if (/^@@|^(ok|FAILED) \||\.\.\. (ok|FAILED)|round-trip/.test(line)) {
        console.log(line);
      }
    }
    console.log(
      `@@host total ${((performance.now() - t0) / 1000).toFixed(1)}s`,
    );
    return {
      code: r.code,
      log,
      stderr: new TextDecoder().decode(r.stderr),
    };
  })();
  return vm;
}

Deno.test({
  name: "VM tier: kernel WireGuard suite passes in one qemu TCG boot",
  ignore: skip !== undefined,
  fn: async () => {
    const { code, log, stderr } = await bootOnce();
    assert(log.includes("@@boot-done"), `the guest did not boot: ${stderr}`);
    assertMatch(log, /@@result rc=\d+/, "the guest never reported a result");
    for (
      const name of [
        "kernel WG: two netns nodes configured over genetlink ping each other",
        "kernel WG: 1000 peers via genetlink vs wg setconf",
      ]
    ) {
      assert(
        new RegExp(`${name}[^\\n]*\\.\\.\\. ok`).test(log),
        `guest test "${name}" did not pass; see .cache/vm/serial.log`,
      );
    }
    assertEquals(code, 0, "guest suite failed; see .cache/vm/serial.log");
  },
});

Deno.test({
  name:
    "VM tier: rtnetlink, nftables and kernel WG binding tests pass on the guest kernel",
  ignore: skip !== undefined,
  fn: async () => {
    const { log } = await bootOnce();
    const m = /@@extra rc=(\d+)/.exec(log);
    assert(m, "the guest did not run the binding tests");
    const failed = log.slice(log.indexOf("@@extra-begin")).split("\n")
      .filter((l) => / \.\.\. FAILED/.test(l));
    assertEquals(failed, [], "binding tests failed in the guest");
    assertEquals(m[1], "0", "binding test run failed in the guest");
  },
});
