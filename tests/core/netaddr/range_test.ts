import {
  formatIP,
  formatPrefix,
  parseIP,
  parsePrefix,
} from "../../../core/netaddr/ip.ts";
import {
  ipFromBigInt,
  ipToBigInt,
  mergeRanges,
  prefixRange,
  rangeToPrefixes,
} from "../../../core/netaddr/range.ts";
import { assertEquals, assertThrows } from "../../_tools/assert.ts";

Deno.test("ipToBigInt() and ipFromBigInt() convert both families", () => {
  assertEquals(ipToBigInt(parseIP("10.0.0.1")), 0x0a000001n);
  assertEquals(ipToBigInt(parseIP("255.255.255.255")), 0xffffffffn);
  assertEquals(ipToBigInt(parseIP("::1")), 1n);
  assertEquals(ipToBigInt(parseIP("fd00::")), 0xfdn << 120n);
  assertEquals(formatIP(ipFromBigInt(0xc0a80107n, 4)), "192.168.1.7");
  assertEquals(formatIP(ipFromBigInt(0n, 4)), "0.0.0.0");
  assertEquals(
    formatIP(ipFromBigInt((1n << 128n) - 1n, 6)),
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
  );
  assertEquals(
    formatIP(ipFromBigInt(0x20010db8n << 96n | 3n, 6)),
    "2001:db8::3",
  );
  assertEquals(ipFromBigInt(5n, 4).bytes.length, 4);
  assertEquals(ipFromBigInt(5n, 6).bytes.length, 16);
  assertThrows(() => ipFromBigInt(1n << 32n, 4), RangeError, "IPv4");
  assertThrows(() => ipFromBigInt(-1n, 6), RangeError, "IPv6");
});

Deno.test("prefixRange() covers the prefix and ignores host bits", () => {
  assertEquals(prefixRange(parsePrefix("10.244.3.1/24")), {
    start: 0x0af40300n,
    end: 0x0af403ffn,
  });
  assertEquals(prefixRange(parsePrefix("192.168.1.7")), {
    start: 0xc0a80107n,
    end: 0xc0a80107n,
  });
  assertEquals(prefixRange(parsePrefix("0.0.0.0/0")), {
    start: 0n,
    end: 0xffffffffn,
  });
  assertEquals(prefixRange(parsePrefix("::/0")), {
    start: 0n,
    end: (1n << 128n) - 1n,
  });
});

Deno.test("mergeRanges() sorts and joins overlapping and adjacent ranges", () => {
  assertEquals(
    mergeRanges([
      { start: 20n, end: 30n },
      { start: 0n, end: 4n },
      { start: 5n, end: 9n }, // adjacent to 0-4
      { start: 25n, end: 40n }, // overlaps 20-30
      { start: 42n, end: 42n }, // a gap of one stays a gap
    ]),
    [{ start: 0n, end: 9n }, { start: 20n, end: 40n }, {
      start: 42n,
      end: 42n,
    }],
  );
  assertEquals(mergeRanges([]), []);
  const input = [{ start: 1n, end: 2n }, { start: 2n, end: 3n }];
  mergeRanges(input);
  assertEquals(input, [{ start: 1n, end: 2n }, { start: 2n, end: 3n }]);
});

Deno.test("rangeToPrefixes() splits into the fewest prefixes", () => {
  const text = (start: bigint, end: bigint, family: 4 | 6) =>
    rangeToPrefixes({ start, end }, family).map(formatPrefix);
  assertEquals(text(0x0a000000n, 0x0a01ffffn, 4), ["10.0.0.0/15"]);
  assertEquals(text(1n, 6n, 4), [
    "0.0.0.1/32",
    "0.0.0.2/31",
    "0.0.0.4/31",
    "0.0.0.6/32",
  ]);
  assertEquals(text(0n, 0xffffffffn, 4), ["0.0.0.0/0"]);
  assertEquals(text(0n, (1n << 128n) - 1n, 6), ["::/0"]);
  assertEquals(text(0xfdn << 120n, (0xfen << 120n) - 1n, 6), ["fd00::/8"]);
  assertEquals(text(5n, 4n, 4), []);
});
