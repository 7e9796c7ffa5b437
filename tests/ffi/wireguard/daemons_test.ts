/**
 * One wireguard-go per interface, with the socket probe and the supervisor
 * faked: adoption, a dead adopted process (gone or stale), the refusal of a
 * second supervisor, restart and gone events, stop.
 */
import {
  type Supervisor,
  WireGuardGoDaemons,
  type WireGuardGoEvent,
} from "../../../ffi/wireguard/daemons.ts";
import type { SocketState } from "../../../ffi/wireguard/uapi.ts";
import type {
  WireGuardGoOptions,
  WireGuardGoState,
} from "../../../ffi/wireguard/wireguard_go.ts";
import { assertEquals, assertRejects } from "../../_tools/assert.ts";

class FakeSupervisor implements Supervisor {
  state: WireGuardGoState = "running";
  lastError = "";
  stopped = false;
  constructor(readonly name: string, readonly options: WireGuardGoOptions) {}
  get active() {
    return ["starting", "running", "backoff"].includes(this.state);
  }
  get status() {
    return {
      interface: this.name,
      state: this.state,
      pid: 4242,
      restarts: 0,
      lastError: this.lastError,
      retryInMs: this.state === "backoff" ? 400 : 0,
    };
  }
  stop() {
    this.stopped = true;
    this.state = "stopped";
    return Promise.resolve();
  }
}

function setup(adoptedCheckMs = 10_000) {
  const socket: { state: SocketState } = { state: "absent" };
  const started: FakeSupervisor[] = [];
  const events: WireGuardGoEvent[] = [];
  const d = new WireGuardGoDaemons({
    binary: "/opt/wg-go",
    adoptedCheckMs,
    onEvent: (e) => events.push(e),
    probe: () => Promise.resolve(socket.state),
    start: (name, options) => {
      const s = new FakeSupervisor(name, options);
      started.push(s);
      return Promise.resolve(s);
    },
  });
  return { d, socket, started, events };
}

Deno.test("nothing serves: start supervises once and refuses a second supervisor", async () => {
  const { d, started } = setup();
  assertEquals(await d.check("wg0"), { kind: "none" });
  assertEquals((await d.start("wg0")).state, "running");
  assertEquals(started[0]?.options.binary, "/opt/wg-go");
  assertEquals((await d.check("wg0")).kind, "supervised");
  await assertRejects(() => d.start("wg0"), Error, "already supervised");
  started[0]!.state = "backoff";
  started[0]!.lastError = "exited with code 1";
  const c = await d.check("wg0");
  assertEquals(c.kind === "supervised" && c.status.retryInMs, 400);
  await assertRejects(() => d.start("wg0"), Error, "(backoff)");
  assertEquals(started.length, 1);
  await d.stop("wg0");
  assertEquals(started[0]!.stopped, true);
  assertEquals(d.status("wg0"), undefined);
});

Deno.test("a live process we did not start is adopted once; its death is reported once as lost", async () => {
  const { d, socket, started } = setup();
  socket.state = "alive";
  assertEquals(await d.check("wg0"), { kind: "adopted", newly: true });
  assertEquals(await d.check("wg0"), { kind: "adopted", newly: false });
  socket.state = "stale";
  assertEquals(await d.check("wg0"), { kind: "none", lost: "stale" });
  assertEquals(await d.check("wg0"), { kind: "none" });
  socket.state = "alive";
  assertEquals((await d.check("wg0")).kind, "adopted");
  socket.state = "absent";
  assertEquals(await d.check("wg0"), { kind: "none", lost: "absent" });
  await d.start("wg0");
  assertEquals(started.length, 1);
  d.close();
});

Deno.test("a supervised restart and an adopted process's death are events", async () => {
  const { d, socket, started, events } = setup(5);
  await d.start("wg0");
  started[0]!.lastError = "exited with code 2 (SIGKILL)";
  await started[0]!.options.onRestart?.();
  assertEquals(events, [{
    kind: "restarted",
    interface: "wg0",
    lastError: "exited with code 2 (SIGKILL)",
  }]);
  socket.state = "alive";
  assertEquals((await d.check("wg1")).kind, "adopted");
  socket.state = "stale";
  const deadline = Date.now() + 2000;
  while (events.length < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assertEquals(events[1], { kind: "adoptedGone", interface: "wg1" });
  await new Promise((r) => setTimeout(r, 30));
  assertEquals(events.length, 2, "the probe stops after reporting");
  d.close();
});
