/**
 * KernelWireGuard.open on this kernel. The host has no WireGuard module, so
 * the full device path runs in the VM tier; here we check the typed error
 * (or, on a kernel with WireGuard, that the family resolves).
 */
import { NotFoundError } from "../../../ffi/netlink/errors.ts";
import { KernelWireGuard } from "../../../ffi/wireguard/kernel.ts";
import { assert, assertStringIncludes } from "../../_tools/assert.ts";

Deno.test({
  name:
    "KernelWireGuard.open resolves the family or throws NotFoundError naming wireguard",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    try {
      const wg = await KernelWireGuard.open();
      assert(wg.kind === "kernel");
      await wg.device("nope0").then(
        () => assert(false, "a missing device must not be found"),
        (err) => assert(err instanceof NotFoundError, String(err)),
      );
      wg.close();
    } catch (err) {
      assert(err instanceof NotFoundError, String(err));
      assertStringIncludes(err.message, '"wireguard"');
      assertStringIncludes(err.message, "ENOENT");
    }
  },
});
