import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import {
  assert,
  assertEquals,
  assertStringIncludes,
} from "../../_tools/assert.ts";
import { discoveryServeCommand } from "../../../plugins/discovery_service/server/cli.ts";
import { superviseDiscovery } from "../../../plugins/discovery_service/server/supervise.ts";
import { rawClient, waitFor } from "./_harness.ts";

Deno.test("discoveryServeCommand() rejects bad arguments with exit code 2", async () => {
  const quiet = console.error;
  console.error = () => {};
  try {
    assertEquals(await discoveryServeCommand([]), 2);
    assertEquals(
      await discoveryServeCommand([
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        "x",
      ]),
      2,
    );
    assertEquals(await discoveryServeCommand(["--bogus"]), 2);
    assertEquals(
      await discoveryServeCommand(["--listen", "127.0.0.1:0", "--rate", "0"]),
      2,
    );
    for (const bad of ["0", "1.5", "many"]) {
      assertEquals(
        await discoveryServeCommand([
          "--listen",
          "127.0.0.1:0",
          "--max-conns-per-ip",
          bad,
        ]),
        2,
        `--max-conns-per-ip ${bad}`,
      );
    }
    for (
      const bad of [
        ["--max-clusters", "0"],
        ["--max-affiliates", "1e3"],
        ["--max-watchers", "-5"],
        ["--gc-interval", "soon"],
        ["--gc-interval", "10ms"],
      ]
    ) {
      assertEquals(
        await discoveryServeCommand(["--listen", "127.0.0.1:0", ...bad]),
        2,
        bad.join(" "),
      );
    }
  } finally {
    console.error = quiet;
  }
});

/** Runs `discovery serve` as its own process; `stop()` always cleans up. */
async function serveProcess(extra: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(
        "../../../plugins/discovery_service/server/cli.ts",
        import.meta.url,
      ).pathname,
      "--listen",
      "127.0.0.1:0",
      ...extra,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  // Never hang the suite: a stuck child is killed and the test fails.
  const guard = setTimeout(() => {
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch { /* exited */ }
  }, 30_000);
  const stop = async () => {
    clearTimeout(guard);
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch { /* exited */ }
    reader.releaseLock();
    await child.stderr.cancel().catch(() => {});
    await child.status;
  };
  try {
    let log = "";
    let port = 0;
    while (port === 0) {
      const r = await reader.read();
      if (r.done) throw new Error(`server exited: ${log}`);
      log += r.value;
      const m = /"port":(\d+)/.exec(log);
      if (m) port = Number(m[1]);
    }
    return { child, port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

Deno.test("discovery serve runs as a process and stops on SIGTERM", async () => {
  const { child, port, stop } = await serveProcess([]);
  try {
    assertEquals(
      (await rawClient(port).hello({ clusterId: "c" })).clientIp.length,
      4,
    );
    Deno.kill(child.pid, "SIGTERM");
    const status = await child.status;
    assertEquals(status.code, 0);
  } finally {
    await stop();
  }
});

Deno.test("discovery serve --max-affiliates and --gc-interval take effect", async () => {
  const { port, stop } = await serveProcess([
    "--max-affiliates",
    "2",
    "--gc-interval",
    "200ms",
  ]);
  const ac = new AbortController();
  try {
    const c = rawClient(port);
    const put = (id: string, seconds: number) =>
      c.affiliateUpdate({
        clusterId: "c",
        affiliateId: id,
        affiliateData: new Uint8Array([1]),
        ttl: create(DurationSchema, { seconds: BigInt(seconds) }),
      });
    await put("short", 1);
    await put("long", 60);
    const full = await put("third", 60).then(() => "", (e) => String(e));
    assertStringIncludes(full, "too many affiliates in the service (limit 2)");
    const it = c.watch({ clusterId: "c" }, { signal: ac.signal })
      [Symbol.asyncIterator]();
    assertEquals((await it.next()).value?.affiliates.length, 2);
    // TTL 1 s + GC every 200 ms: the deletion arrives well before 60 s.
    const t0 = performance.now();
    const ev = (await it.next()).value!;
    const ms = performance.now() - t0;
    assertEquals([ev.deleted, ev.affiliates[0]?.id], [true, "short"]);
    assert(ms < 2_000, `expiry seen after ${ms} ms`);
    await put("third", 60); // the slot is free again
  } finally {
    ac.abort();
    await stop();
  }
});

Deno.test("superviseDiscovery() restarts the service when it stops", async () => {
  const sup = superviseDiscovery({
    listen: "127.0.0.1:0",
    rateLimit: { rate: 1000, burst: 1000 },
  });
  try {
    await waitFor(() => sup.current() !== undefined, 5_000, "first start");
    const first = sup.current()!;
    await first.close(); // simulates a failure: nobody asked to stop
    await waitFor(
      () => sup.starts() === 2 && sup.current() !== undefined,
      5_000,
      "restart",
    );
    const second = sup.current()!;
    assert(second !== first, "a new instance is running");
    assertEquals(
      (await rawClient(second.port).hello({ clusterId: "c" })).clientIp.length,
      4,
    );
  } finally {
    await sup.stop();
  }
});

Deno.test("discovery serve refuses devices and FIFOs as its files with exit code 2, at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-serve-files-" });
  const errors: string[] = [];
  const quiet = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    const fifo = `${dir}/fifo`;
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert(mk.success, "mkfifo failed");
    const t0 = performance.now();
    assertEquals(
      await discoveryServeCommand([
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        "/dev/zero",
        "--tls-key",
        "/dev/zero",
      ]),
      2,
    );
    assertEquals(
      await discoveryServeCommand([
        "--listen",
        "127.0.0.1:0",
        "--state-file",
        fifo,
      ]),
      2,
    );
    const ms = performance.now() - t0;
    assert(ms < 3_000, `refusals took ${ms} ms`);
    assertStringIncludes(errors[0] ?? "", '"/dev/zero"');
    assertStringIncludes(errors[0] ?? "", "not a regular file");
    assertStringIncludes(errors[1] ?? "", "a FIFO");
  } finally {
    console.error = quiet;
    await Deno.remove(dir, { recursive: true });
  }
});
