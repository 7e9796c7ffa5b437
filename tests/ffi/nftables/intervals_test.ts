import {
  elementsToRanges,
  prefixesToRanges,
  rangesToElements,
} from "../../../ffi/nftables/intervals.ts";
import { assertEquals, assertThrows } from "../../_tools/assert.ts";

Deno.test("prefixesToRanges merges overlapping and adjacent prefixes", () => {
  const r = prefixesToRanges([
    "10.1.0.0/16",
    "10.0.0.0/16",
    "10.0.5.0/24",
    "192.168.1.7",
  ], 4);
  assertEquals(r, [
    { start: 0x0a000000n, end: 0x0a01ffffn },
    { start: 0xc0a80107n, end: 0xc0a80107n },
  ]);
  assertThrows(() => prefixesToRanges(["fd00::/8"], 4), TypeError);
});

Deno.test("rangesToElements adds the leading 0 end and omits the end at the top", () => {
  const els = rangesToElements([{ start: 5n, end: 9n }, {
    start: 0xfffffff0n,
    end: 0xffffffffn,
  }], 4);
  assertEquals(
    els.map((e) => `${[...e.key].join(".")}${e.end ? "!" : ""}`),
    ["0.0.0.0!", "0.0.0.5", "0.0.0.10!", "255.255.255.240"],
  );
  assertEquals(elementsToRanges(els, 4), [{ start: 5n, end: 9n }, {
    start: 0xfffffff0n,
    end: 0xffffffffn,
  }]);
});
