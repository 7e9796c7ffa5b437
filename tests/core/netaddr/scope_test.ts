import { parseIP } from "../../../core/netaddr/ip.ts";
import { isGlobalUnicast, isSpecialIP } from "../../../core/netaddr/scope.ts";
import { assertEquals } from "../../_tools/assert.ts";

// Golden vectors: [address, special, global unicast].
const VECTORS: [string, boolean, boolean][] = [
  ["0.0.0.0", true, false],
  ["0.1.2.3", false, false],
  ["127.0.0.1", true, false],
  ["169.254.10.1", true, false],
  ["224.0.0.251", true, false],
  ["10.1.2.3", false, false],
  ["100.64.0.1", false, false],
  ["100.128.0.1", false, true],
  ["172.16.0.1", false, false],
  ["172.32.0.1", false, true],
  ["192.168.1.1", false, false],
  ["198.51.100.7", false, true],
  ["::", true, false],
  ["::1", true, false],
  ["fe80::1", true, false],
  ["ff02::1", true, false],
  ["fd00::1", false, false],
  ["fdea:f2aa:f5db:4b02::1", false, false],
  ["2001:db8::10", false, true],
];

Deno.test("isSpecialIP() / isGlobalUnicast() golden vectors", () => {
  assertEquals(
    VECTORS.map(([a]) => [
      a,
      isSpecialIP(parseIP(a)),
      isGlobalUnicast(parseIP(a)),
    ]),
    VECTORS,
  );
});
