import {
  ByteBucket,
  type Leg,
  plainHost,
  routeDatagram,
} from "../../../plugins/peer_relay/legs.ts";
import { assertEquals } from "../../_tools/assert.ts";

const a = { address: "198.51.100.11", port: 40001 };
const b = { address: "::ffff:198.51.100.12", port: 40002 };

Deno.test("routeDatagram() latches each leg on its first sender, holds until the other latches", () => {
  const legs: [Leg, Leg] = [{}, {}];
  assertEquals(routeDatagram(legs, 0, a), { kind: "hold" });
  assertEquals(legs[0].latched, a);
  assertEquals(routeDatagram(legs, 1, b), {
    kind: "forward",
    to: a,
  });
  assertEquals(legs[1].latched, { address: "198.51.100.12", port: 40002 });
  assertEquals(routeDatagram(legs, 0, a), {
    kind: "forward",
    to: { address: "198.51.100.12", port: 40002 },
  });
});

Deno.test("routeDatagram() drops strangers; a known host may re-latch after a NAT rebinding", () => {
  const legs: [Leg, Leg] = [{ expectHost: "198.51.100.11" }, {}];
  assertEquals(routeDatagram(legs, 0, { address: "192.0.2.66", port: 1 }), {
    kind: "drop",
    reason: "foreign",
  });
  assertEquals(legs[0].latched, undefined);
  routeDatagram(legs, 0, a);
  routeDatagram(legs, 1, b);
  assertEquals(
    routeDatagram(legs, 1, { address: "198.51.100.12", port: 9 }).kind,
    "drop",
    "leg 1 has no expected host: its latch stays",
  );
  assertEquals(routeDatagram(legs, 0, { ...a, port: 40009 }).kind, "forward");
  assertEquals(legs[0].latched, { ...a, port: 40009 });
});

Deno.test("plainHost() strips the IPv4-mapped prefix", () => {
  assertEquals(plainHost("::ffff:10.0.0.1"), "10.0.0.1");
  assertEquals(plainHost("fd00::1"), "fd00::1");
});

Deno.test("ByteBucket.take() a second's worth of burst, then the rate", () => {
  const bucket = new ByteBucket(1000, 0);
  assertEquals(bucket.take(600, 0), true);
  assertEquals(bucket.take(600, 0), false);
  assertEquals(bucket.take(600, 200), true, "400 + 200 refilled");
  assertEquals(bucket.take(1, 200), false);
  assertEquals(bucket.take(1000, 5000), true, "capped at one second");
  assertEquals(bucket.take(1, 5000), false);
});
