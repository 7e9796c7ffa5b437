import {
  formatAddrPort,
  formatIP,
  formatPrefix,
  maskPrefix,
  parseAddrPort,
  parseIP,
  parsePrefix,
  prefixContains,
  tryParseIP,
} from "../../../core/netaddr/ip.ts";
import { assertEquals, assertThrows } from "../../_tools/assert.ts";

Deno.test("formatIP() writes IPv6 in RFC 5952 form", () => {
  const cases: [string, string][] = [
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["::", "::"],
    ["::1", "::1"],
    ["fd7f:175a:b97c:5602::", "fd7f:175a:b97c:5602::"],
    ["2001:db8:1:2:3:4:5:0", "2001:db8:1:2:3:4:5:0"],
    ["::ffff:1.2.3.4", "::ffff:102:304"],
  ];
  for (const [input, expected] of cases) {
    assertEquals(formatIP(parseIP(input)), expected, input);
  }
});

Deno.test("parseIP() rejects what is not an address", () => {
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.256",
      "01.2.3.4",
      "1::2::3",
      "fe80::1%eth0",
      "12345::",
      "a.b.c.d",
      "1:2:3:4:5:6:7:8:9",
    ]
  ) {
    assertEquals(tryParseIP(bad), undefined, bad);
  }
  assertThrows(() => parseIP("nope"), SyntaxError, '"nope"');
});

Deno.test("parsePrefix() takes bare addresses as host prefixes and masks on request", () => {
  assertEquals(formatPrefix(parsePrefix("10.1.2.3")), "10.1.2.3/32");
  assertEquals(formatPrefix(parsePrefix("2001:db8::1")), "2001:db8::1/128");
  assertEquals(
    formatPrefix(maskPrefix(parsePrefix("10.244.3.1/24"))),
    "10.244.3.0/24",
  );
  assertThrows(() => parsePrefix("10.0.0.0/33"), SyntaxError, "0-32");
  assertThrows(() => parsePrefix("::/129"), SyntaxError, "0-128");
});

Deno.test("prefixContains() matches by family and masked bits", () => {
  assertEquals(
    prefixContains(parsePrefix("192.168.0.0/16"), parseIP("192.168.192.168")),
    true,
  );
  assertEquals(
    prefixContains(parsePrefix("192.168.0.0/16"), parseIP("192.169.0.1")),
    false,
  );
  assertEquals(prefixContains(parsePrefix("0.0.0.0/0"), parseIP("::1")), false);
  assertEquals(
    prefixContains(parsePrefix("2001::/16"), parseIP("2001:123:4567::1")),
    true,
  );
});

Deno.test("parseAddrPort() and formatAddrPort() round-trip v4 and bracketed v6", () => {
  for (const text of ["10.0.0.2:51820", "[2001:db8::1]:51820", "1.2.3.4:0"]) {
    assertEquals(formatAddrPort(parseAddrPort(text)), text);
  }
  assertThrows(
    () => parseAddrPort("2001:db8::1:51820"),
    SyntaxError,
    "[addr]:port",
  );
  assertThrows(() => parseAddrPort("10.0.0.1"), SyntaxError, "port is missing");
  assertThrows(() => parseAddrPort("10.0.0.1:70000"), SyntaxError, "0-65535");
});
