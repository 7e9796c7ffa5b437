/**
 * The relay's forwarder over loopback: two "boxes" (UDP sockets on
 * 127.0.0.1) talk through a pair's legs; bytes pass unchanged, a stranger
 * is dropped.
 */
import dgram from "node:dgram";
import { openPair } from "../../../plugins/peer_relay/forwarder.ts";
import { ByteBucket } from "../../../plugins/peer_relay/legs.ts";
import { assertEquals } from "../../_tools/assert.ts";

function socket(): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.bind(0, "127.0.0.1", () => resolve(s));
  });
}

function next(s: dgram.Socket): Promise<{ msg: Uint8Array; port: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("no datagram in 2 s")),
      2000,
    );
    s.once("message", (msg: Uint8Array, from: dgram.RemoteInfo) => {
      clearTimeout(timer);
      resolve({ msg: new Uint8Array(msg), port: from.port });
    });
  });
}

async function freePorts(): Promise<[number, number]> {
  // Two consecutive free ports: bind, note, release.
  for (let tries = 0; tries < 20; tries++) {
    const base = 40000 + Math.floor(Math.random() * 10000) * 2;
    const probe = await Promise.all(
      [base, base + 1].map((p) =>
        new Promise<boolean>((resolve) => {
          const s = dgram.createSocket("udp4");
          s.once("error", () => resolve(false));
          s.bind(p, "127.0.0.1", () => s.close(() => resolve(true)));
        })
      ),
    );
    if (probe.every(Boolean)) return [base, base + 1];
  }
  throw new Error("no free port pair on 127.0.0.1");
}

Deno.test({
  name: "openPair() forwards datagrams between the two latched boxes unchanged",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const ports = await freePorts();
    const pair = await openPair({
      ports,
      bucket: new ByteBucket(1e6, Date.now()),
      bindAddress: "127.0.0.1",
    });
    const [a, b, stranger] = await Promise.all([socket(), socket(), socket()]);
    try {
      const initiation = new Uint8Array(148);
      initiation[0] = 1;
      initiation.fill(0xab, 4);
      // A's first datagram waits on leg 0 until B latches leg 1.
      a.send(initiation, ports[0], "127.0.0.1");
      await new Promise((r) => setTimeout(r, 100));
      const atB = next(b);
      const reply = new Uint8Array(92);
      reply[0] = 2;
      b.send(reply, ports[1], "127.0.0.1");
      const atA = next(a);
      assertEquals(await atB, { msg: initiation, port: ports[1] });
      assertEquals(await atA, { msg: reply, port: ports[0] });
      // A stranger on leg 0 is dropped; A still gets through.
      stranger.send(new Uint8Array([9, 9, 9]), ports[0], "127.0.0.1");
      const data = new Uint8Array(64).fill(4);
      const atB2 = next(b);
      a.send(data, ports[0], "127.0.0.1");
      assertEquals((await atB2).msg, data);
      assertEquals(pair.counters, {
        forwardedBytes: 148 + 92 + 64,
        // A sent 148 + 64 through leg 0, B sent 92 through leg 1.
        legBytes: [148 + 64, 92],
        forwardedPackets: 3,
        dropped: 1,
      });
      // Each leg latched its box (the stranger did not take leg 0).
      assertEquals(pair.latched(), [
        { address: "127.0.0.1", port: a.address().port },
        { address: "127.0.0.1", port: b.address().port },
      ]);
    } finally {
      for (const s of [a, b, stranger]) s.close();
      await pair.close();
    }
  },
});

Deno.test({
  name: "openPair() over the byte budget drops instead of forwarding",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const ports = await freePorts();
    const pair = await openPair({
      ports,
      bucket: new ByteBucket(100, Date.now()),
      bindAddress: "127.0.0.1",
    });
    const [a, b] = await Promise.all([socket(), socket()]);
    try {
      b.send(new Uint8Array(10), ports[1], "127.0.0.1");
      await new Promise((r) => setTimeout(r, 100));
      const atB = next(b);
      a.send(new Uint8Array(90), ports[0], "127.0.0.1");
      assertEquals((await atB).msg.length, 90);
      a.send(new Uint8Array(90), ports[0], "127.0.0.1");
      await new Promise((r) => setTimeout(r, 200));
      // B's held 10 bytes went to A when A latched, A's 90 to B: the
      // budget of 100 is spent, the second 90 is dropped.
      assertEquals(pair.counters.dropped, 1);
      assertEquals(pair.counters.forwardedBytes, 100);
    } finally {
      a.close();
      b.close();
      await pair.close();
    }
  },
});
