/**
 * Builds both single files once (`build/build.ts` from `main.ts`) and runs
 * them: x86_64 natively, aarch64 under `qemu-aarch64-static` with an arm64
 * glibc sysroot. Each runs `edgespan version` and `edgespan run` inside a
 * fresh netns (it needs an Ethernet link for the identity) and must serve
 * the API. Also checks the extraction cache: concurrent first starts and
 * the repair of a half-extracted directory.
 *
 * @module
 */
import { buildAll } from "../../build/build.ts";
import { exists } from "../../build/runtime.ts";
import { addVeth, canUseNetns, run, withNetns } from "../_tools/netns.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../_tools/assert.ts";
import { arm64Sysroot } from "./_arm64_sysroot.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const CACHE = `${ROOT}/.cache/build`;

const netnsProblem = await canUseNetns();
const qemu = (await run("sh", ["-c", "command -v qemu-aarch64-static"])).stdout
  .trim();
const haveTar =
  (await run("sh", ["-c", "command -v tar gzip sha256sum npm"])).code === 0;
if (!haveTar) {
  console.log("binary_test: skipped: needs tar, gzip, sha256sum and npm");
}
if (netnsProblem) {
  console.log(`binary_test: agent runs skipped: ${netnsProblem}`);
}
if (!qemu) {
  console.log(
    "binary_test: aarch64 steps skipped: qemu-aarch64-static is missing (apt-get install qemu-user-static)",
  );
}

interface Started {
  child: Deno.ChildProcess;
  output: Promise<string>;
}

function spawn(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Started {
  const child = new Deno.Command(cmd, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const collect = async (s: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of s) {
      text += decoder.decode(chunk, { stream: true });
    }
    return text;
  };
  const output = Promise.all([collect(child.stdout), collect(child.stderr)])
    .then(([o, e]) => o + e);
  return { child, output };
}

async function runFile(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; text: string; ms: number }> {
  const t0 = performance.now();
  const p = spawn(file, args, env);
  const { code } = await p.child.status;
  return { code, text: await p.output, ms: Math.round(performance.now() - t0) };
}

async function writeConfig(
  dir: string,
  name: string,
  mesh: boolean,
): Promise<string> {
  const secret = btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))),
  );
  const path = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    path,
    `cluster: {id: "bin-${name}", secret: "${secret}"}
discovery: {endpoints: []}
node: {stateDir: "${dir}/state", hostname: "${name}"}
kubespan: {enabled: ${mesh}}
api: {listen: "127.0.0.1:7443", socket: "${dir}/api.sock"}
reconcile: {interval: 1h}
`,
  );
  return path;
}

/**
 * Starts `file run` in the netns and waits for `/healthz` on the unix
 * socket; returns the time to API-ready, the identity and the RSS.
 */
async function serveAndProbe(
  file: string,
  ns: string,
  dir: string,
  env: Record<string, string>,
  mesh: boolean,
  timeoutMs: number,
): Promise<
  {
    readyMs: number;
    rssKiB: number;
    publicKey: string;
    log: string;
    cli: string;
  }
> {
  const config = await writeConfig(dir, ns, mesh);
  const t0 = performance.now();
  // --cleanup only with the mesh on: it opens the dataplane, and qemu-user
  // has no generic netlink (EPROTONOSUPPORT for protocol 16).
  const agent = spawn("ip", [
    "netns",
    "exec",
    ns,
    file,
    "run",
    "--config",
    config,
    ...(mesh ? ["--cleanup"] : []),
  ], env);
  const client = Deno.createHttpClient({
    proxy: { transport: "unix", path: `${dir}/api.sock` },
  });
  try {
    let readyMs = -1;
    while (performance.now() - t0 < timeoutMs) {
      try {
        const res = await fetch("http://localhost/healthz", { client });
        await res.body?.cancel();
        if (res.ok) {
          readyMs = Math.round(performance.now() - t0);
          break;
        }
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert(readyMs >= 0, `API not ready within ${timeoutMs} ms`);
    const identity =
      await (await fetch("http://localhost/v1/identity/local", { client }))
        .json();
    const publicKey = identity.spec.publicKey as string;
    assert(
      typeof publicKey === "string" && publicKey.length === 44,
      "identity served",
    );
    assertEquals(identity.spec.privateKey, undefined);
    const status = await Deno.readTextFile(`/proc/${agent.child.pid}/status`);
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? -1);
    // The file's own CLI reads the same API over TCP inside the netns.
    const cli = await runFile("ip", [
      "netns",
      "exec",
      ns,
      file,
      "get",
      "identity",
      "--api",
      "http://127.0.0.1:7443",
    ], env);
    assertEquals(cli.code, 0, cli.text);
    assertStringIncludes(cli.text, publicKey);
    agent.child.kill("SIGTERM");
    const { code } = await agent.child.status;
    const log = await agent.output;
    assertEquals(code, 0, log);
    return { readyMs, rssKiB, publicKey, log, cli: cli.text };
  } finally {
    client.close();
    try {
      agent.child.kill("SIGKILL");
    } catch { /* exited */ }
    // wireguard-go children that outlived the agent: only ours, in our netns.
    const pids = (await run("ip", ["netns", "pids", ns])).stdout.split(/\s+/)
      .filter(Boolean);
    for (const pid of pids) await run("kill", ["-9", pid]);
  }
}

Deno.test({
  name:
    "single files: build, extract, version, serve the API (x86_64 native, aarch64 under qemu)",
  ignore: !haveTar,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const out = await Deno.makeTempDir({ prefix: "edgespan-dist-" });
    const work = await Deno.makeTempDir({ prefix: "edgespan-bin-" });
    try {
      const artifacts = await buildAll({
        outDir: out,
        log: (l) => console.log(l),
      });
      const x86 = artifacts.find((a) => a.arch === "x86_64")!;
      const arm = artifacts.find((a) => a.arch === "aarch64")!;
      for (const a of artifacts) {
        assert(a.bytes > 20e6 && a.bytes < 60e6, `${a.path}: ${a.bytes} B`);
        const head = new TextDecoder().decode(
          (await Deno.readFile(a.path)).subarray(0, 10),
        );
        assertEquals(head, "#!/bin/sh\n");
      }
      const version = (await import("../../core/version.ts")).VERSION;
      // The build puts the commit and its date in: "(commit 5531947abcde, built 2026-...Z)".
      const versionLine = new RegExp(
        `^edgespan ${
          version.replaceAll(".", "\\.")
        } \\(commit [0-9a-f]{12}(-dirty)?, built \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z\\)$`,
      );

      await t.step("x86_64: cold and warm `version`", async () => {
        const env = { EDGESPAN_CACHE: `${work}/x86-cache` };
        const cold = await runFile(x86.path, ["version"], env);
        assertEquals(cold.code, 0, cold.text);
        assertMatch(cold.text.trim(), versionLine);
        const warm = await runFile(x86.path, ["version"], env);
        assertEquals(warm.code, 0, warm.text);
        console.log(
          `x86_64 version: cold ${cold.ms} ms (extracts), warm ${warm.ms} ms`,
        );
      });

      await t.step(
        "x86_64: concurrent first starts share one clean cache dir",
        async () => {
          const cache = `${work}/race-cache`;
          const runs = await Promise.all(
            [1, 2, 3].map(() =>
              runFile(x86.path, ["version"], { EDGESPAN_CACHE: cache })
            ),
          );
          for (const r of runs) assertEquals(r.code, 0, r.text);
          const entries = [...Deno.readDirSync(cache)].map((e) => e.name);
          assertEquals(entries, [x86.hash!]);
          assertEquals(
            [...Deno.readDirSync(`${cache}/${x86.hash}`)].map((e) => e.name)
              .filter((n) => n !== "denodir").sort(),
            [".ok", "deno", "edgespan", "edgespan.js"],
          );
        },
      );

      await t.step(
        "x86_64: a half-extracted dir (no .ok) is repaired",
        async () => {
          const cache = `${work}/race-cache`;
          const dir = `${cache}/${x86.hash}`;
          await Deno.remove(`${dir}/.ok`);
          await Deno.writeTextFile(
            `${dir}/edgespan.js`,
            "throw new Error('truncated')",
          );
          const r = await runFile(x86.path, ["version"], {
            EDGESPAN_CACHE: cache,
          });
          assertEquals(r.code, 0, r.text);
          assertMatch(r.text.trim(), versionLine);
          assert(await exists(`${dir}/.ok`), ".ok restored");
          assertEquals([...Deno.readDirSync(cache)].length, 1);
        },
      );

      await t.step({
        name: "x86_64: `run` serves the API; its CLI reads it",
        ignore: netnsProblem !== undefined,
        fn: async () => {
          await withNetns("esbx", async (ns) => {
            await addVeth(ns, "eth0", "eth1", { address: "192.0.2.1/24" });
            const dir = await Deno.makeTempDir({ dir: work });
            const r = await serveAndProbe(
              x86.path,
              ns,
              dir,
              { EDGESPAN_CACHE: `${work}/x86-cache` },
              true,
              30_000,
            );
            console.log(
              `x86_64 run: API ready after ${r.readyMs} ms, RSS ${r.rssKiB} KiB`,
            );
          });
        },
      });

      let sysroot: string | undefined;
      if (qemu) {
        const s = await arm64Sysroot(CACHE);
        if ("path" in s) sysroot = s.path;
        else console.log(`binary_test: aarch64 steps skipped: ${s.reason}`);
      }
      const emulator = { EDGESPAN_EMULATOR: `${qemu} -L ${sysroot}` };

      await t.step({
        name: "aarch64 under qemu: `version`",
        ignore: !sysroot,
        fn: async () => {
          const env = { ...emulator, EDGESPAN_CACHE: `${work}/arm-cache` };
          const cold = await runFile(arm.path, ["version"], env);
          assertEquals(cold.code, 0, cold.text);
          assertMatch(cold.text.trim(), versionLine);
          const info = await run("sh", [
            "-c",
            `od -An -tx1 -j18 -N2 "$1"/*/deno`,
            "sh",
            `${work}/arm-cache`,
          ]);
          assertEquals(info.stdout.trim(), "b7 00", "e_machine is EM_AARCH64");
          console.log(`aarch64 version under qemu: cold ${cold.ms} ms`);
        },
      });

      await t.step({
        name: "aarch64 under qemu: `run` serves the API",
        ignore: !sysroot || netnsProblem !== undefined,
        fn: async () => {
          await withNetns("esba", async (ns) => {
            await addVeth(ns, "eth0", "eth1", { address: "192.0.2.1/24" });
            const dir = await Deno.makeTempDir({ dir: work });
            const r = await serveAndProbe(
              arm.path,
              ns,
              dir,
              { ...emulator, EDGESPAN_CACHE: `${work}/arm-cache` },
              false,
              120_000,
            );
            console.log(
              `aarch64 run under qemu: API ready after ${r.readyMs} ms, RSS (qemu) ${r.rssKiB} KiB`,
            );
          });
        },
      });
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
