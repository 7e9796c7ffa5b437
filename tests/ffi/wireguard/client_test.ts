/** The backend facade: selection, fallback and not-found chaining. */
import { NotFoundError } from "../../../ffi/netlink/errors.ts";
import {
  openWireGuard,
  WireGuardClient,
} from "../../../ffi/wireguard/client.ts";
import { KernelWireGuard } from "../../../ffi/wireguard/kernel.ts";
import type {
  WgBackend,
  WgDevice,
  WgDeviceConfig,
} from "../../../ffi/wireguard/types.ts";
import {
  assertEquals,
  assertRejects,
  assertThrows,
} from "../../_tools/assert.ts";

/** A backend owning the listed devices; records calls. */
function fake(
  kind: "kernel" | "userspace",
  owns: string[],
  calls: string[],
): WgBackend {
  const notFound = (name: string) =>
    new NotFoundError({ operation: `read "${name}"`, errno: 19 });
  return {
    kind,
    device(name: string): Promise<WgDevice> {
      calls.push(`${kind}:device:${name}`);
      if (!owns.includes(name)) return Promise.reject(notFound(name));
      return Promise.resolve({
        name,
        publicKey: kind,
        listenPort: 1,
        firewallMark: 0,
        peers: [],
      });
    },
    configure(name: string, _c: WgDeviceConfig): Promise<void> {
      calls.push(`${kind}:configure:${name}`);
      if (!owns.includes(name)) return Promise.reject(notFound(name));
      return Promise.resolve();
    },
    close() {
      calls.push(`${kind}:close`);
    },
  };
}

Deno.test("WireGuardClient serves each device from the backend that owns it", async () => {
  const calls: string[] = [];
  const c = new WireGuardClient([
    fake("kernel", ["wg0"], calls),
    fake("userspace", ["wgu"], calls),
  ]);
  assertEquals(c.kind, "kernel");
  assertEquals((await c.device("wg0")).publicKey, "kernel");
  assertEquals((await c.device("wgu")).publicKey, "userspace");
  await c.configure("wgu", {});
  await assertRejects(() => c.device("none"), NotFoundError, "none");
  c.close();
  assertEquals(calls, [
    "kernel:device:wg0",
    "kernel:device:wgu",
    "userspace:device:wgu",
    "kernel:configure:wgu",
    "userspace:configure:wgu",
    "kernel:device:none",
    "userspace:device:none",
    "kernel:close",
    "userspace:close",
  ]);
  assertThrows(() => new WireGuardClient([]), TypeError, "no backends");
});

Deno.test("WireGuardClient: a device no backend has fails with the preferred backend's error", async () => {
  const missing = (kind: "kernel" | "userspace"): WgBackend => ({
    ...fake(kind, [], []),
    device: (name) =>
      Promise.reject(
        new NotFoundError({ operation: `read ${kind} "${name}"`, errno: 19 }),
      ),
  });
  const c = new WireGuardClient([missing("kernel"), missing("userspace")]);
  await assertRejects(
    () => c.device("wg0"),
    NotFoundError,
    'read kernel "wg0"',
  );
});

Deno.test("WireGuardClient without a userspace backend runs no wireguard-go", async () => {
  const c = new WireGuardClient([fake("kernel", ["wg0"], [])]);
  await assertRejects(
    () => c.checkWireGuardGo("wg0"),
    TypeError,
    "no userspace backend",
  );
  assertEquals(c.wireGuardGoStatus("wg0"), undefined);
  await c.stopWireGuardGo("wg0");
});

Deno.test({
  name: "openWireGuard picks the kernel when it has WireGuard, else userspace",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const kernelHasWg = await KernelWireGuard.open().then(
      (k) => (k.close(), true),
      () => false,
    );
    const auto = await openWireGuard();
    assertEquals(auto.kind, kernelHasWg ? "kernel" : "userspace");
    auto.close();
    const user = await openWireGuard({ backend: "userspace" });
    assertEquals(user.kind, "userspace");
    user.close();
    if (kernelHasWg) {
      (await openWireGuard({ backend: "kernel" })).close();
    } else {
      await assertRejects(
        () => openWireGuard({ backend: "kernel" }),
        NotFoundError,
        "wireguard",
      );
    }
  },
});
