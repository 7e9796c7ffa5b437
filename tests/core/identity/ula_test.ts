import { formatPrefix, parseIP } from "../../../core/netaddr/ip.ts";
import {
  eui64,
  formatMac,
  isUla,
  nodeAddress,
  parseMac,
  ulaPrefix,
  UlaPurpose,
} from "../../../core/identity/ula.ts";
import { assertEquals, assertThrows } from "../../_tools/assert.ts";

// Golden vector from KubeSpan's own tests (kubespan-facts.md §1.5).
const CLUSTER_ID = "8XuV9TZHW08DOk3bVxQjH9ih_TBKjnh-j44tsCLSBzo=";

Deno.test("ulaPrefix() hashes the cluster id text into KubeSpan's /64", async () => {
  assertEquals(
    formatPrefix(await ulaPrefix(CLUSTER_ID)),
    "fd7f:175a:b97c:5602::/64",
  );
});

Deno.test("ulaPrefix() sets the purpose byte", async () => {
  assertEquals(
    formatPrefix(await ulaPrefix(CLUSTER_ID, UlaPurpose.sideroLink)),
    "fd7f:175a:b97c:5603::/64",
  );
});

Deno.test("nodeAddress() appends the modified EUI-64 of the MAC", async () => {
  const subnet = await ulaPrefix(CLUSTER_ID);
  const address = nodeAddress(subnet, parseMac("2e:1a:b6:53:81:69"));
  assertEquals(
    formatPrefix(address),
    "fd7f:175a:b97c:5602:2c1a:b6ff:fe53:8169/128",
  );
});

Deno.test("eui64() flips the U/L bit and takes 8-byte MACs as they are", () => {
  assertEquals(
    formatMac(eui64(parseMac("00:11:22:33:44:55"))),
    "02:11:22:ff:fe:33:44:55",
  );
  assertEquals(
    formatMac(eui64(parseMac("02:11:22:33:44:55:66:77"))),
    "00:11:22:33:44:55:66:77",
  );
  assertThrows(() => eui64(new Uint8Array(4)), RangeError, "4-byte");
});

Deno.test("isUla() recognises the purpose byte", () => {
  assertEquals(
    isUla(parseIP("fd7f:175a:b97c:5602::1"), UlaPurpose.kubeSpan),
    true,
  );
  assertEquals(
    isUla(parseIP("fd7f:175a:b97c:5603::1"), UlaPurpose.kubeSpan),
    false,
  );
  assertEquals(isUla(parseIP("10.0.0.1"), UlaPurpose.kubeSpan), false);
});
