import { AttributeDecoder } from "../../../ffi/netlink/decoder.ts";
import { NetlinkEncoder } from "../../../ffi/netlink/encoder.ts";
import { assertEquals } from "../../_tools/assert.ts";
import { toHex } from "../_fixtures.ts";

Deno.test("NetlinkEncoder pads attributes to 4 bytes and sets lengths", () => {
  const e = new NetlinkEncoder();
  e.attrU8(1, 0xab).attrU16(2, 0x1234).attrString(3, "abc").attrFlag(4);
  assertEquals(
    toHex(e.finish()),
    "05000100ab000000" + "0600020034120000" + "0800030061626300" + "04000400",
  );
});

Deno.test("NetlinkEncoder nested() sets NLA_F_NESTED and the outer length", () => {
  const e = new NetlinkEncoder();
  e.nested(7, (n) => n.attrU32Be(1, 1).attrI32Be(2, -150));
  assertEquals(
    toHex(e.finish()),
    "1400078008000100000000010800020" + "0ffffff6a",
  );
});

Deno.test("NetlinkEncoder grows past its first buffer without losing bytes", () => {
  const e = new NetlinkEncoder();
  for (let i = 0; i < 300; i++) e.u8(i & 0xff);
  e.u32(0xdeadbeef);
  const b = e.finish();
  assertEquals(b.length, 304);
  assertEquals(b[299], 299 & 0xff);
  assertEquals(toHex(b.subarray(300)), "efbeadde");
});

Deno.test("NetlinkEncoder typed attributes stay intact across buffer growth", () => {
  const e = new NetlinkEncoder();
  for (let i = 0; i < 100; i++) {
    e.attrU8(1, i).attrU16(2, i).attrU16Be(3, i).attrU32(4, i).attrU32Be(5, i);
    e.attrI32Be(6, -i).attrU64Be(7, BigInt(i)).attrString(8, "x").attrBytes(
      9,
      new Uint8Array([i]),
    );
  }
  const d = new AttributeDecoder(e.finish());
  let n = 0;
  let sum = 0;
  while (d.next()) {
    n++;
    if (d.type === 5) sum += d.u32Be();
    if (d.type === 6) sum += d.i32Be();
  }
  assertEquals([n, sum, d.err], [900, 0, undefined]);
});
