/**
 * The relay service over loopback: three "boxes" (UDP sockets on
 * 127.0.0.1-3, their mesh addresses) join through the control socket; the
 * relay lists the pair it serves (legs, latched senders, bytes each way)
 * and counts the pair it refused at its limit.
 */
import dgram from "node:dgram";
import { startRelayServer } from "../../../plugins/peer_relay/server.ts";
import {
  decodeMessage,
  encodeMessage,
  type JoinReply,
} from "../../../plugins/peer_relay/protocol.ts";
import { silentLogger } from "../../../core/log/logger.ts";
import { RESOURCE_DEFINITIONS } from "../../../core/resources/definitions.ts";
import { formatTable } from "../../../web/cli/output.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";

const key = (n: number) =>
  btoa(String.fromCharCode(...new Uint8Array(32).fill(n)));
const BOXES = [
  { key: key(1), label: "edge-a", host: "127.0.0.1" },
  { key: key(2), label: "edge-b", host: "127.0.0.2" },
  { key: key(3), label: "edge-c", host: "127.0.0.3" },
];

function socket(host: string): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.bind(0, host, () => resolve(s));
  });
}

function freePort(type: "udp4" | "udp6", host: string): Promise<number> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(type);
    s.bind(0, host, () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

/** Sends a join from `s` and waits for the answer. */
function join(
  s: dgram.Socket,
  control: number,
  peer: string,
): Promise<JoinReply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no answer in 2 s")), 2000);
    s.once("message", (msg: Uint8Array) => {
      clearTimeout(timer);
      const m = decodeMessage(new Uint8Array(msg));
      if (m?.op === "joined") resolve(m);
      else reject(new Error("not a join answer"));
    });
    s.send(
      encodeMessage({ op: "join", id: 1, peer, use: true }),
      control,
      "127.0.0.1",
    );
  });
}

Deno.test({
  name:
    "startRelayServer() lists its pairs with latched senders and bytes each way, and counts refusals",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const control = await freePort("udp6", "::");
    const base = 42000 + Math.floor(Math.random() * 5000) * 2;
    const stop = new AbortController();
    const t0 = Date.now();
    const server = startRelayServer({
      meshAddress: "::", // dual stack: 127.0.0.x arrives as ::ffff:127.0.0.x
      controlPort: control,
      ports: [base, base + 3],
      maxPairs: 1,
      maxBytesPerSecond: 1e6,
      legAddress: "127.0.0.1",
      view: {
        keyOfAddress: (a) => BOXES.find((b) => b.host === a)?.key,
        isPeer: (k) => BOXES.some((b) => b.key === k),
        hostOf: () => undefined,
        labelOf: (k) => BOXES.find((b) => b.key === k)?.label ?? k,
      },
      log: silentLogger(),
      signal: stop.signal,
    });
    const [a, b, c] = await Promise.all(BOXES.map((x) => socket(x.host)));
    const [da, db] = await Promise.all([
      socket("127.0.0.1"),
      socket("127.0.0.2"),
    ]);
    try {
      // The control socket binds at once here (the address exists).
      await new Promise((r) => setTimeout(r, 200));
      assertEquals((await join(a!, control, BOXES[1]!.key)).joined, false);
      const legB = (await join(b!, control, BOXES[0]!.key)).leg!;
      const legA = (await join(a!, control, BOXES[1]!.key)).leg!;
      assertEquals([legA, legB], [base, base + 1]);
      // Ciphertext stand-ins: A sends 100 + 50 bytes, B 80.
      const atB = new Promise((r) => db!.once("message", r));
      da!.send(new Uint8Array(100), legA, "127.0.0.1");
      await new Promise((r) => setTimeout(r, 100));
      db!.send(new Uint8Array(80), legB, "127.0.0.1");
      await atB;
      const atB2 = new Promise((r) => db!.once("message", r));
      da!.send(new Uint8Array(50), legA, "127.0.0.1");
      await atB2;
      // C and A want a pair too: the relay is full.
      await join(c!, control, BOXES[0]!.key);
      const refused = await join(a!, control, BOXES[2]!.key);
      assertEquals(refused.refused, "relay full: 1 of 1 pairs");
      assertEquals(server.refusals(), { full: 1 });
      const pairs = server.pairs();
      const row = pairs.get("edge-a–edge-b")!;
      assertEquals(row.ports, [base, base + 1]);
      assertEquals(row.latched, [
        `127.0.0.1:${da!.address().port}`,
        `127.0.0.2:${db!.address().port}`,
      ]);
      assertEquals(row.bytes, [150, 80]);
      assertEquals(row.packets, 3);
      assert(Date.parse(row.since) >= t0 - 1000, row.since);
      const def = RESOURCE_DEFINITIONS.find((d) => d.type === "relaypairs")!;
      console.log(formatTable(
        def,
        [...pairs].map(([id, spec]) => ({
          type: "relaypairs",
          id,
          version: 1,
          updated: 0,
          spec,
        })),
        Date.now(),
      ));
    } finally {
      for (const s of [a, b, c, da, db]) s!.close();
      stop.abort();
      await server.stop();
    }
  },
});
