import { AttributeDecoder } from "../../../ffi/netlink/decoder.ts";
import { NetlinkEncoder } from "../../../ffi/netlink/encoder.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";
import { fromHex } from "../_fixtures.ts";

Deno.test("AttributeDecoder reads typed values and nested attributes", () => {
  const e = new NetlinkEncoder();
  e.attrString(1, "wg0").attrU32(2, 1420).attrU16Be(3, 51820);
  e.nested(4, (n) => n.attrU64Be(1, 5n).attrU8(2, 9));
  const d = new AttributeDecoder(e.finish());
  const seen: unknown[] = [];
  while (d.next()) {
    switch (d.type) {
      case 1:
        seen.push(d.string());
        break;
      case 2:
        seen.push(d.u32());
        break;
      case 3:
        seen.push(d.u16Be());
        break;
      case 4:
        assert(d.isNested);
        d.nested((n) => {
          while (n.next()) seen.push(n.type === 1 ? n.u64Be() : n.u8());
        });
    }
  }
  assertEquals(d.err, undefined);
  assertEquals(seen, ["wg0", 1420, 51820, 5n, 9]);
});

Deno.test("AttributeDecoder keeps the first error and stops (sticky)", () => {
  // a 2-byte attribute read as u32, then a valid one
  const bytes = fromHex("0600010001000000" + "08000200ffffffff");
  const d = new AttributeDecoder(bytes);
  assert(d.next());
  assertEquals(d.u32(), 0);
  assert(d.err instanceof SyntaxError);
  assertEquals(d.next(), false);
});

Deno.test("AttributeDecoder rejects a length that runs past the buffer", () => {
  const d = new AttributeDecoder(fromHex("2000010001000000"));
  assertEquals(d.next(), false);
  assert(d.err?.message.includes("invalid"));
});

Deno.test("AttributeDecoder.nested propagates an inner error", () => {
  const d = new AttributeDecoder(fromHex("0c000180" + "ff000100" + "00000000"));
  assert(d.next());
  d.nested((n) => {
    while (n.next()) n.u8();
  });
  assert(d.err !== undefined);
});
