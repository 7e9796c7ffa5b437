import { assertEquals } from "../../_tools/assert.ts";
import { RateLimiter } from "../../../plugins/discovery_service/server/rate_limiter.ts";
import { clientKey } from "../../../plugins/discovery_service/server/client_address.ts";

Deno.test("clientKey() is the IPv4 address or the IPv6 /64", () => {
  const cases: [string, string][] = [
    ["192.0.2.7", "192.0.2.7"],
    ["::ffff:192.0.2.7", "192.0.2.7"],
    ["2001:db8:1:2::1", "2001:db8:1:2::/64"],
    ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"],
    ["2001:DB8:1:2:a:b:c:d", "2001:db8:1:2::/64"],
    ["2001:db8:1:3::1", "2001:db8:1:3::/64"],
    ["::1", "::/64"],
    ["fe80::1", "fe80::/64"],
    ["", ""],
    ["not-an-ip", "not-an-ip"],
  ];
  for (const [ip, key] of cases) assertEquals(clientKey(ip), key, ip);
});

Deno.test("RateLimiter grants the burst, then reserves tokens in order up to the longest wait", () => {
  let t = 0;
  const l = new RateLimiter({ rate: 10, burst: 3 }, () => t);
  assertEquals([0, 1, 2].map(() => l.take("k", 0)), [0, 0, 0]);
  // 10/s: each further call waits 100 ms longer than the one before.
  assertEquals(Math.round(l.take("k", 1000)), 100);
  assertEquals(Math.round(l.take("k", 1000)), 200);
  // A wait beyond the caller's limit reserves nothing.
  assertEquals(l.take("k", 250), Infinity);
  assertEquals(Math.round(l.take("k", 300)), 300);
  // Other keys have their own bucket.
  assertEquals(l.take("other", 0), 0);
  t += 300;
  assertEquals(l.take("k", 0), Infinity);
  assertEquals(Math.round(l.take("k", 1000)), 100);
});

Deno.test("RateLimiter.refund() gives a reserved token back to the queue", () => {
  let t = 0;
  const l = new RateLimiter({ rate: 10, burst: 1 }, () => t);
  assertEquals(l.take("k", 0), 0);
  assertEquals(Math.round(l.take("k", 1000)), 100);
  assertEquals(Math.round(l.take("k", 1000)), 200);
  l.refund("k"); // the 200 ms caller gave up
  assertEquals(Math.round(l.take("k", 1000)), 200);
  t += 10_000;
  l.refund("k"); // never beyond the burst
  assertEquals(l.take("k", 0), 0);
  assertEquals(l.take("k", 0), Infinity);
});

Deno.test("RateLimiter.prune() forgets only buckets that are full again", () => {
  let t = 0;
  const l = new RateLimiter({ rate: 1, burst: 2 }, () => t);
  l.take("a", 0);
  l.take("b", 0);
  l.take("b", 0);
  t += 1000;
  l.prune(); // a is full again, b has one token
  assertEquals(l.take("b", 0), 0);
  assertEquals(l.take("b", 0), Infinity);
  assertEquals([l.take("a", 0), l.take("a", 0)], [0, 0]);
});
