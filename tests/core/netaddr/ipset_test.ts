import { IPSet } from "../../../core/netaddr/ipset.ts";
import { assertEquals } from "../../_tools/assert.ts";

Deno.test("IPSet emits the minimal sorted CIDR list, IPv4 first", () => {
  assertEquals(
    IPSet.of(["10.0.0.1/32", "10.0.0.0/32", "::1", "10.0.0.2/31"]).toStrings(),
    ["10.0.0.0/30", "::1/128"],
  );
  assertEquals(IPSet.of(["10.244.3.1/24"]).toStrings(), ["10.244.3.0/24"]);
  assertEquals(IPSet.of(["0.0.0.0/0"]).toStrings(), ["0.0.0.0/0"]);
  assertEquals(IPSet.of(["::/0"]).toStrings(), ["::/0"]);
});

Deno.test("IPSet.subtract() splits ranges into aligned blocks", () => {
  assertEquals(
    IPSet.of(["10.244.3.0/24"]).subtract(IPSet.of(["10.244.3.128/25"]))
      .toStrings(),
    ["10.244.3.0/25"],
  );
  assertEquals(
    IPSet.of(["10.0.0.0/30"]).subtract(IPSet.of(["10.0.0.1"])).toStrings(),
    ["10.0.0.0/32", "10.0.0.2/31"],
  );
  assertEquals(
    IPSet.of(["0.0.0.0/0"]).subtract(IPSet.of(["128.0.0.0/1"])).toStrings(),
    ["0.0.0.0/1"],
  );
  assertEquals(
    IPSet.of(["10.0.0.0/8"]).subtract(IPSet.of(["10.0.0.0/8"])).isEmpty(),
    true,
  );
});

Deno.test("IPSet.intersect() and overlaps()", () => {
  const a = IPSet.of(["10.244.2.0/23", "192.168.3.0/24"]);
  const b = IPSet.of(["10.244.3.0/24", "fd00::/8"]);
  assertEquals(a.intersect(b).toStrings(), ["10.244.3.0/24"]);
  assertEquals(a.overlaps(b), true);
  assertEquals(a.overlaps(IPSet.of(["172.16.0.0/12"])), false);
  assertEquals(a.union(b).toStrings(), [
    "10.244.2.0/23",
    "192.168.3.0/24",
    "fd00::/8",
  ]);
});
