import { assert, assertEquals } from "../../_tools/assert.ts";
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
  } finally {
    console.error = quiet;
  }
});

Deno.test("discovery serve runs as a process and stops on SIGTERM", async () => {
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
    assertEquals(
      (await rawClient(port).hello({ clusterId: "c" })).clientIp.length,
      4,
    );
    Deno.kill(child.pid, "SIGTERM");
    const status = await child.status;
    assertEquals(status.code, 0);
  } finally {
    clearTimeout(guard);
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch { /* exited */ }
    reader.releaseLock();
    await child.stderr.cancel().catch(() => {});
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
