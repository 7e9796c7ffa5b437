import {
  NotifyError,
  sdNotify,
  startWatchdog,
  unixSockaddr,
  watchdogIntervalMs,
} from "../../ffi/sd_notify.ts";
import { libc } from "../../ffi/libc.ts";
import { assert, assertEquals, assertThrows } from "../_tools/assert.ts";

const MSG_DONTWAIT = 0x40;

/** A bound unix datagram socket standing in for systemd. */
function receiver(path: string) {
  const c = libc();
  const fd = c.socket(1, 2, 0);
  assert(fd >= 0, "socket");
  const addr = unixSockaddr(path);
  assertEquals(c.bind(fd, addr, addr.length), 0);
  return {
    take(): string | undefined {
      const buf = new Uint8Array(4096);
      const n = Number(
        c.recvfrom(fd, buf, BigInt(buf.length), MSG_DONTWAIT, null, null),
      );
      return n < 0 ? undefined : new TextDecoder().decode(buf.subarray(0, n));
    },
    close: () => c.close(fd),
  };
}

Deno.test("sdNotify delivers READY=1, STOPPING=1 to a path socket", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/notify`;
  const r = receiver(path);
  try {
    assert(sdNotify("READY=1\nSTATUS=mesh up", { socket: path }), "sent");
    assertEquals(r.take(), "READY=1\nSTATUS=mesh up");
    assert(sdNotify("STOPPING=1", { socket: path }), "sent");
    assertEquals(r.take(), "STOPPING=1");
    assertEquals(r.take(), undefined);
  } finally {
    r.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sdNotify reaches an abstract socket (@name)", () => {
  const name = `@edgespan-test-${crypto.randomUUID()}`;
  const r = receiver(name);
  try {
    assert(sdNotify("WATCHDOG=1", { socket: name }), "sent");
    assertEquals(r.take(), "WATCHDOG=1");
  } finally {
    r.close();
  }
});

Deno.test("sdNotify without NOTIFY_SOCKET is a no-op; bad values are errors", () => {
  const saved = Deno.env.get("NOTIFY_SOCKET");
  Deno.env.delete("NOTIFY_SOCKET");
  try {
    assertEquals(sdNotify("READY=1"), false);
  } finally {
    if (saved) Deno.env.set("NOTIFY_SOCKET", saved);
  }
  assertThrows(() => sdNotify("READY=1", { socket: "relative" }), NotifyError);
  assertThrows(
    () => sdNotify("READY=1", { socket: "/nonexistent/edgespan/notify" }),
    NotifyError,
  );
  assertThrows(() => unixSockaddr("/" + "x".repeat(120)), NotifyError);
});

Deno.test("watchdogIntervalMs honours WATCHDOG_USEC and WATCHDOG_PID", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assertEquals(
    watchdogIntervalMs(env({ WATCHDOG_USEC: "30000000" }), 5),
    30000,
  );
  assertEquals(
    watchdogIntervalMs(
      env({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "6" }),
      5,
    ),
    undefined,
  );
  assertEquals(watchdogIntervalMs(env({}), 5), undefined);
});

Deno.test("startWatchdog pings at half the interval while healthy", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/notify`;
  const r = receiver(path);
  let healthy = true;
  const stop = startWatchdog({
    socket: path,
    intervalMs: 100,
    healthy: () => healthy,
  });
  try {
    await new Promise((res) => setTimeout(res, 180));
    const got: string[] = [];
    for (let m = r.take(); m; m = r.take()) got.push(m);
    assert(got.length >= 2, `expected 2+ pings, got ${got.length}`);
    assert(got.every((m) => m === "WATCHDOG=1"), "only WATCHDOG=1");
    healthy = false;
    await new Promise((res) => setTimeout(res, 120));
    assertEquals(r.take(), undefined);
  } finally {
    stop();
    r.close();
    await Deno.remove(dir, { recursive: true });
  }
});
