/**
 * The per-client connection cap counts an IPv6 /64 as one client. Loopback
 * has a single IPv6 address, so connections come from a fake listener.
 */
import { assertEquals } from "../../_tools/assert.ts";
import { acceptLoop } from "../../../web/h2/listener.ts";
import { clientKey } from "../../../plugins/discovery_service/server/client_address.ts";

/** A connection that sends nothing and stays open until closed. */
function fakeConn(hostname: string) {
  let closed!: (v: null) => void;
  const eof = new Promise<null>((r) => (closed = r));
  const conn = {
    remoteAddr: { transport: "tcp", hostname, port: 40000 },
    localAddr: { transport: "tcp", hostname: "::", port: 3000 },
    read: () => eof,
    write: (b: Uint8Array) => Promise.resolve(b.length),
    close: () => closed(null),
  };
  return conn as unknown as Deno.Conn;
}

/** Hands out `conns`, then waits until closed. */
function fakeListener(conns: Deno.Conn[]): Deno.Listener {
  let stop!: (err: Error) => void;
  const stopped = new Promise<never>((_, reject) => (stop = reject));
  stopped.catch(() => {});
  return {
    accept: () => {
      const next = conns.shift();
      return next ? Promise.resolve(next) : stopped;
    },
    close: () => stop(new Error("closed")),
  } as unknown as Deno.Listener;
}

Deno.test("acceptLoop() with clientKey caps connections per IPv6 /64", async () => {
  const refused: string[] = [];
  const from = [
    "2001:db8:1:2::1",
    "2001:db8:1:2::2",
    "2001:db8:1:2:ffff::3", // same /64: over the cap of 2
    "2001:db8:1:3::1", // another /64
    "192.0.2.1",
  ];
  const loop = acceptLoop(
    fakeListener(from.map(fakeConn)),
    {
      stream: () => {},
      plain: () => ({ status: 404, contentType: "text/plain", body: "" }),
    },
    {
      clientKey,
      maxConnectionsPerIp: 2,
      handshakeTimeoutMs: 60_000,
      onRefused: (ip, limit) => refused.push(`${ip} ${limit}`),
    },
  );
  await new Promise((r) => setTimeout(r, 50));
  await loop.close();
  assertEquals(refused, ["2001:db8:1:2::/64 per-ip"]);
});
