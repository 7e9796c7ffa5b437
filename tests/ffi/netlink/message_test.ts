import {
  buildMessage,
  NLM_F_ACK,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  parseErrorPayload,
  parseMessages,
  setSequence,
} from "../../../ffi/netlink/message.ts";
import { assertEquals, assertThrows } from "../../_tools/assert.ts";
import { loadFixture, toHex } from "../_fixtures.ts";

Deno.test("buildMessage writes nlmsghdr with the total length", () => {
  const m = buildMessage(18, NLM_F_REQUEST | NLM_F_ACK, (e) => e.u8(1));
  setSequence(m, 0x01020304);
  assertEquals(toHex(m), "140000001200050004030201000000000" + "1000000");
});

Deno.test("parseMessages splits a buffer and rejects bad lengths", () => {
  const a = buildMessage(NLMSG_DONE, 2, (e) => e.u32(0));
  const b = buildMessage(16, 0, (e) => e.u8(7));
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  const msgs = parseMessages(both);
  assertEquals(msgs.map((m) => [m.type, m.payload.length]), [[3, 4], [16, 4]]);
  const bad = a.slice();
  bad[0] = 200;
  assertThrows(() => parseMessages(bad), SyntaxError);
});

Deno.test("parseErrorPayload reads errno and extended-ACK text from a captured reply", async () => {
  const [err] = await loadFixture("error_eexist.hex");
  assertEquals(err?.type, NLMSG_ERROR);
  const e = parseErrorPayload(err!);
  assertEquals(e.errno, 17);
  assertEquals(e.extAckMessage, "ipv4: Address already assigned");
});

Deno.test("parseErrorPayload of an ACK is errno 0", async () => {
  const msgs = await loadFixture("getfamily_nlctrl.hex");
  const ack = msgs[msgs.length - 1]!;
  assertEquals(ack.type, NLMSG_ERROR);
  assertEquals(parseErrorPayload(ack), { errno: 0 });
});
