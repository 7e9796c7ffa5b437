import { assertEquals, assertThrows } from "../../_tools/assert.ts";
import {
  encodeHeaders,
  HpackDecoder,
  HpackError,
} from "../../../web/h2/hpack.ts";
import {
  huffmanDecode,
  huffmanEncode,
  HuffmanError,
} from "../../../web/h2/huffman.ts";

const hex = (s: string) =>
  new Uint8Array(
    s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)),
  );
const text = (s: string) => new TextEncoder().encode(s);

// Golden vectors: RFC 7541 Appendix C.
Deno.test("huffman: RFC 7541 C.4 strings both ways", () => {
  const vectors: [string, string][] = [
    ["www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"],
    ["no-cache", "a8eb 1064 9cbf"],
    ["custom-key", "25a8 49e9 5ba9 7d7f"],
    ["custom-value", "25a8 49e9 5bb8 e8b4 bf"],
  ];
  for (const [plain, coded] of vectors) {
    assertEquals(huffmanEncode(text(plain)), hex(coded), plain);
    assertEquals(huffmanDecode(hex(coded)), text(plain), plain);
  }
});

Deno.test("huffman: every octet round-trips; bad padding and EOS are refused", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assertEquals(huffmanDecode(huffmanEncode(all)), all);
  // "a" is 00011 (5 bits): padding must be ones.
  assertEquals(huffmanDecode(hex("1f")), text("a"));
  assertThrows(() => huffmanDecode(hex("18")), HuffmanError, "padding");
  // 8+ bits of ones is padding longer than 7 bits.
  assertThrows(() => huffmanDecode(hex("1f ff")), HuffmanError);
  // EOS (30 ones) inside the string.
  assertThrows(() => huffmanDecode(hex("ff ff ff ff")), HuffmanError);
});

Deno.test("hpack: RFC 7541 C.2 literal and indexed representations", () => {
  const d = new HpackDecoder();
  assertEquals(
    d.decode(
      hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"),
    ).fields,
    [["custom-key", "custom-header"]],
  );
  // C.2.1 added it to the dynamic table: index 62.
  assertEquals(d.decode(hex("be")).fields, [["custom-key", "custom-header"]]);
  assertEquals(
    d.decode(hex("040c 2f73 616d 706c 652f 7061 7468")).fields,
    [[":path", "/sample/path"]],
  );
  assertEquals(
    d.decode(hex("1008 7061 7373 776f 7264 0673 6563 7265 74")).fields,
    [["password", "secret"]],
  );
  assertEquals(d.decode(hex("82")).fields, [[":method", "GET"]]);
});

Deno.test("hpack: RFC 7541 C.4 requests with Huffman share one dynamic table", () => {
  const d = new HpackDecoder();
  assertEquals(
    d.decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")).fields,
    [
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
    ],
  );
  assertEquals(d.decode(hex("8286 84be 5886 a8eb 1064 9cbf")).fields, [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
    ["cache-control", "no-cache"],
  ]);
  assertEquals(
    d.decode(
      hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
    ).fields,
    [
      [":method", "GET"],
      [":scheme", "https"],
      [":path", "/index.html"],
      [":authority", "www.example.com"],
      ["custom-key", "custom-value"],
    ],
  );
});

Deno.test("hpack: table size updates evict, and limits are enforced", () => {
  const d = new HpackDecoder(4096);
  d.decode(
    hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"),
  );
  d.decode(hex("20")); // size 0: table emptied
  assertThrows(() => d.decode(hex("be")), HpackError, "not in the table");
  assertThrows(() => d.decode(hex("3fe2 1f")), HpackError, "above"); // 4097 > limit
  assertThrows(
    () => d.decode(hex("82 20")),
    HpackError,
    "after a header field",
  );
  assertThrows(() => d.decode(hex("80")), HpackError, "index 0");
  assertThrows(() => d.decode(hex("0f")), HpackError, "truncated");
  assertThrows(() => d.decode(hex("0085 ffff")), HpackError); // string past the end
  assertThrows(
    () => d.decode(hex("ff ff ff ff ff 7f")),
    HpackError,
    "overflow",
  );
  const big = d.decode(
    encodeHeaders([["a", "x".repeat(100)], ["b", "y"]]),
    120,
  );
  assertEquals([big.fields.map((f) => f[0]), big.tooLarge], [[], true]);
});

Deno.test("hpack: what encodeHeaders writes decodes back, without touching the table", () => {
  const fields: [string, string][] = [
    [":status", "200"],
    ["content-type", "application/grpc"],
    ["grpc-status", "0"],
    ["grpc-message", "x".repeat(300)],
  ];
  const block = encodeHeaders(fields);
  assertEquals(block[0], 0x88); // :status 200 is static index 8
  const d = new HpackDecoder();
  assertEquals(d.decode(block).fields, fields);
  assertEquals(d.decode(block).fields, fields);
});
