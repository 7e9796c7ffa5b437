import {
  encodeGetFamily,
  parseFamily,
  resolveFamily,
} from "../../../ffi/genetlink/mod.ts";
import {
  NetlinkClient,
  NetlinkSocket,
  NotFoundError,
  Protocol,
} from "../../../ffi/netlink/mod.ts";
import { checkReplies } from "../../../ffi/netlink/conn.ts";
import {
  assertEquals,
  assertRejects,
  assertThrows,
} from "../../_tools/assert.ts";
import { loadFixture, toHex } from "../_fixtures.ts";

Deno.test("CTRL_CMD_GETFAMILY golden bytes", () => {
  assertEquals(
    toHex(encodeGetFamily("wireguard")),
    "24000000" + "1000" + "0100" + "00000000" + "00000000" + "03010000" +
      "0e000200776972656775617264000000",
  );
});

Deno.test("parseFamily reads a captured nlctrl reply", async () => {
  const [reply] = checkReplies(
    "fixture",
    await loadFixture("getfamily_nlctrl.hex"),
  );
  assertEquals(parseFamily(reply!), {
    id: 16,
    name: "nlctrl",
    version: 2,
    groups: { notify: 16 },
  });
});

Deno.test("a captured missing-family reply becomes NotFoundError", async () => {
  const msgs = await loadFixture("getfamily_wireguard_enoent.hex");
  assertThrows(
    () => checkReplies("resolve wireguard", msgs),
    NotFoundError,
    "ENOENT",
  );
});

const canRun = Deno.build.os === "linux";
Deno.test({
  name:
    "resolveFamily finds nlctrl and rejects an unknown family with NotFoundError",
  ignore: !canRun,
  fn: async () => {
    const s = new NetlinkClient(await NetlinkSocket.open(Protocol.GENERIC));
    try {
      assertEquals((await resolveFamily(s, "nlctrl")).id, 16);
      await assertRejects(
        () => resolveFamily(s, "edgespan-nope"),
        NotFoundError,
        'no "edgespan-nope" family',
      );
    } finally {
      s.close();
    }
  },
});
