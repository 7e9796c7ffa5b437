/**
 * `KernelWireGuard` over the fake connection of `tests/_tools/nltest.ts`:
 * family resolution, a captured WG_CMD_GET_DEVICE dump, and the error of a
 * kernel without WireGuard, without root or the wireguard module.
 */
import { KernelWireGuard } from "../../../ffi/wireguard/kernel.ts";
import { openWireGuard } from "../../../ffi/wireguard/client.ts";
import {
  encodeGetDevice,
  encodeSetDevice,
} from "../../../ffi/wireguard/kernel_codec.ts";
import {
  buildGenlMessage,
  GENL_ID_CTRL,
} from "../../../ffi/genetlink/family.ts";
import { NetlinkError, NotFoundError } from "../../../ffi/netlink/errors.ts";
import {
  type NetlinkMessage,
  NLM_F_ACK,
  parseMessages,
} from "../../../ffi/netlink/message.ts";
import {
  byType,
  dial,
  dump,
  errno,
  type Handler,
  replay,
  requestBytes,
} from "../../_tools/nltest.ts";
import { assert, assertEquals, assertRejects } from "../../_tools/assert.ts";
import { loadFixture, toHex } from "../_fixtures.ts";

/** The family id the fixture's kernel gave `wireguard`. */
const WG_FAMILY = 32;

/** nlctrl's CTRL_CMD_NEWFAMILY answer for `wireguard` (id 32, version 1). */
function familyReply(): NetlinkMessage[] {
  const bytes = buildGenlMessage(GENL_ID_CTRL, 0, 1, 2, (e) => {
    e.attrU16(1, WG_FAMILY).attrString(2, "wireguard").attrU32(3, 1);
  });
  return parseMessages(bytes);
}

const device = await loadFixture("wg_get_device.hex");
const enoent = await loadFixture("getfamily_wireguard_enoent.hex");

function kernelWith(wg: Handler): Handler {
  return byType({ [GENL_ID_CTRL]: replay(familyReply()), [WG_FAMILY]: wg });
}

const key = (n: number) =>
  btoa(String.fromCharCode(...new Uint8Array(32).fill(n)));

Deno.test("KernelWireGuard resolves the family and reads a captured device dump", async () => {
  const conn = dial(kernelWith(dump(device)));
  const wg = await KernelWireGuard.open({ conn });
  const dev = await wg.device("wg0");
  assertEquals(
    [dev.name, dev.publicKey, dev.listenPort, dev.firewallMark],
    ["wg0", "eB+quQhDAVDazN1vnWxQhuNPc6k+u6onF2XlA27fxRk=", 51820, 0x20],
  );
  assertEquals(dev.peers.map((p) => p.publicKey), [key(2), key(3)]);
  assertEquals(dev.peers.map((p) => p.allowedIPs.length), [300, 2]);
  // requests: GETFAMILY "wireguard" (ACK asked), then the GET_DEVICE dump for the resolved id
  const [family, get] = conn.requests;
  assertEquals(family?.type, GENL_ID_CTRL);
  assert(((family?.flags ?? 0) & NLM_F_ACK) !== 0);
  assert(new TextDecoder().decode(family?.payload).includes("wireguard"));
  assertEquals(toHex(requestBytes(get!)), toHex(encodeGetDevice(32, "wg0")));
  wg.close();
  assert(conn.closed);
});

Deno.test("a kernel without the wireguard family: the clear NotFoundError, and the connection is closed", async () => {
  const conn = dial(byType({ [GENL_ID_CTRL]: replay(enoent) }));
  const err = await assertRejects(
    () => KernelWireGuard.open({ conn }),
    NotFoundError,
  );
  assertEquals(err.errnoName, "ENOENT");
  assertEquals(
    err.message,
    'Cannot resolve generic netlink family "wireguard": ENOENT (No such file or directory): the kernel has no "wireguard" family (module not loaded or not built)',
  );
  assert(conn.closed, "the connection is released when open fails");
});

Deno.test("openWireGuard: auto falls back to userspace on the captured ENOENT; kernel fails", async () => {
  const reasons: string[] = [];
  const auto = await openWireGuard({
    conn: dial(byType({ [GENL_ID_CTRL]: replay(enoent) })),
    onFallback: (reason) => reasons.push(reason),
  });
  assertEquals(auto.kind, "userspace");
  assertEquals(reasons.length, 1);
  assert(reasons[0]!.includes('no "wireguard" family'), reasons[0]);
  auto.close();
  await assertRejects(
    () =>
      openWireGuard({
        backend: "kernel",
        conn: dial(byType({ [GENL_ID_CTRL]: replay(enoent) })),
      }),
    NotFoundError,
    'no "wireguard" family',
  );
  const kernel = await openWireGuard({
    conn: dial(kernelWith(dump(device))),
    onFallback: (reason) => reasons.push(reason),
  });
  assertEquals(kernel.kind, "kernel");
  assertEquals((await kernel.device("wg0")).listenPort, 51820);
  assertEquals(reasons.length, 1, "no fallback when the kernel has WireGuard");
  kernel.close();
});

Deno.test("KernelWireGuard.configure names the failing message of a split configuration", async () => {
  const peers = Array.from({ length: 40 }, (_, i) => ({
    publicKey: key(i + 1),
    allowedIPs: Array.from({ length: 20 }, (_, j) => `10.${i}.${j}.0/24`),
  }));
  const config = { listenPort: 51820, replacePeers: true, peers };
  const total = encodeSetDevice(WG_FAMILY, "wg0", config).length;
  assert(total > 2, `split into ${total} messages`);
  let seen = 0;
  const conn = dial(
    kernelWith((req) =>
      ++seen === 2 ? errno(22, { message: "bad peer", offset: 24 })(req) : []
    ),
  );
  const wg = await KernelWireGuard.open({ conn });
  const err = await assertRejects(
    () => wg.configure("wg0", config),
    NetlinkError,
  );
  assertEquals(
    err.operation,
    `configure WireGuard device "wg0" (40 peers, message 2 of ${total})`,
  );
  assertEquals([err.errnoName, err.extAckMessage], ["EINVAL", "bad peer"]);
  // the first message went out as encoded, with an ACK asked
  const first = encodeSetDevice(WG_FAMILY, "wg0", config)[0]!;
  const sent = conn.requests.filter((r) => r.type === WG_FAMILY);
  assertEquals(sent.length, 2, "stops at the failing message");
  const v = new DataView(first.buffer);
  v.setUint16(6, v.getUint16(6, true) | NLM_F_ACK, true);
  assertEquals(toHex(requestBytes(sent[0]!)), toHex(first));
});
