/**
 * UserspaceWireGuard against a fake UAPI server on a unix socket in a temp
 * dir (no root, no wireguard-go): the request bytes, the parsed reply, the
 * derived public key, and the typed errors.
 */
import { NetlinkError, NotFoundError } from "../../../ffi/netlink/errors.ts";
import {
  derivePublicKey,
  probeSocket,
  UserspaceWireGuard,
} from "../../../ffi/wireguard/uapi.ts";
import { keyToHex } from "../../../ffi/wireguard/uapi_codec.ts";
import { assert, assertEquals, assertRejects } from "../../_tools/assert.ts";

// RFC 7748 §6.1 test vector (Alice).
const ALICE_PRIV = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
const ALICE_PUB = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

/** Serves one reply per connection and records each request. */
async function fakeUapi(
  dir: string,
  name: string,
  reply: string,
  fn: (requests: string[]) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({
    transport: "unix",
    path: `${dir}/${name}.sock`,
  });
  const requests: string[] = [];
  const serve = (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(65536);
      let text = "";
      while (!text.endsWith("\n\n")) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      // a bare connect (a liveness probe) sends nothing and hangs up
      if (text !== "") {
        requests.push(text);
        await conn.write(new TextEncoder().encode(reply));
      }
      conn.close();
    }
  })();
  try {
    await fn(requests);
  } finally {
    listener.close();
    await serve.catch(() => {});
  }
}

Deno.test("UserspaceWireGuard.has connects: a stale socket file left by a killed wireguard-go is not alive", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const wg = new UserspaceWireGuard({ socketDir: dir });
    const path = `${dir}/wgs0.sock`;
    // A process that listens and is killed with SIGKILL, as wireguard-go.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `Deno.listen({ transport: "unix", path: ${
          JSON.stringify(path)
        } }); setInterval(() => {}, 1000);`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (
      let i = 0;
      i < 200 && (await wg.socketState("wgs0")) !== "alive";
      i++
    ) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert(await wg.has("wgs0"), "the listener is alive");
    child.kill("SIGKILL");
    await child.status;
    assert((await Deno.lstat(path)).isSocket, "the socket file is still there");
    assertEquals(await probeSocket(path), "stale");
    assert(!(await wg.has("wgs0")), "a stale socket must not count as alive");
    await Deno.remove(path);
    assertEquals(await wg.socketState("wgs0"), "absent");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("derivePublicKey matches the RFC 7748 vector", async () => {
  assertEquals(await derivePublicKey(ALICE_PRIV), ALICE_PUB);
});

Deno.test("UserspaceWireGuard.device sends get=1 and parses the reply", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const reply = `private_key=${keyToHex(ALICE_PRIV)}\nlisten_port=4242\n` +
      `public_key=${keyToHex(ALICE_PUB)}\nallowed_ip=10.0.0.1/32\nerrno=0\n\n`;
    await fakeUapi(dir, "wgt0", reply, async (requests) => {
      const wg = new UserspaceWireGuard({ socketDir: dir });
      assert(await wg.has("wgt0"));
      assert(!(await wg.has("wgt1")));
      const dev = await wg.device("wgt0");
      assertEquals(requests, ["get=1\n\n"]);
      assertEquals(
        [dev.name, dev.publicKey, dev.listenPort],
        ["wgt0", ALICE_PUB, 4242],
      );
      assertEquals(dev.peers.map((p) => p.allowedIPs), [["10.0.0.1/32"]]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("UserspaceWireGuard.device reads a reply that arrives in many chunks", async () => {
  const dir = await Deno.makeTempDir();
  const listener = Deno.listen({ transport: "unix", path: `${dir}/wgc0.sock` });
  // 2000 peers (~190 KB, past the first read buffer); one endpoint has a
  // two-byte UTF-8 character that is split between two chunks, and the
  // final blank line comes in a chunk of its own
  const peerHex = (i: number) => i.toString(16).padStart(64, "0");
  let text = `private_key=${keyToHex(ALICE_PRIV)}\n`;
  for (let i = 0; i < 2000; i++) {
    text += `public_key=${peerHex(i)}\n` +
      `endpoint=${i === 1500 ? "h\u00f4st" : "192.0.2.1"}:${i}\n` +
      `allowed_ip=10.0.${i >> 8}.${i & 255}/32\n`;
  }
  text += "errno=0\n\n";
  const bytes = new TextEncoder().encode(text);
  const split = bytes.indexOf(0xc3) + 1;
  const cuts = [split, bytes.length - 1];
  for (let at = 4096; at < bytes.length; at += 4096) cuts.push(at);
  cuts.sort((a, b) => a - b);
  const serve = (async () => {
    const conn = await listener.accept();
    const req = new Uint8Array(64);
    await conn.read(req);
    let from = 0;
    for (const to of [...cuts, bytes.length]) {
      await conn.write(bytes.subarray(from, to));
      from = to;
      await new Promise((r) => setTimeout(r, 1));
    }
    // the client stops at the blank line and hangs up; it must not wait
    // for the server to hang up first
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => {
      timer = setTimeout(() => r("late"), 5000);
    });
    const hungUp = await Promise.race([conn.read(new Uint8Array(1)), late]);
    clearTimeout(timer);
    conn.close();
    return hungUp;
  })();
  try {
    const wg = new UserspaceWireGuard({ socketDir: dir });
    const dev = await wg.device("wgc0");
    assertEquals(dev.publicKey, ALICE_PUB);
    assertEquals(dev.peers.length, 2000);
    assertEquals(dev.peers[1500]!.endpoint, "h\u00f4st:1500");
    assertEquals(dev.peers[1999]!.allowedIPs, ["10.0.7.207/32"]);
    assertEquals(await serve, null);
  } finally {
    await serve.catch(() => {});
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("UserspaceWireGuard.configure sends set=1 and maps errno", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fakeUapi(dir, "wgt0", "errno=-22\n\n", async (requests) => {
      const wg = new UserspaceWireGuard({ socketDir: dir });
      const err = await assertRejects(
        () => wg.configure("wgt0", { listenPort: 1 }),
        NetlinkError,
        "EINVAL",
      );
      assertEquals(err.errno, 22);
      assertEquals(requests, ["set=1\nlisten_port=1\n\n"]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("UserspaceWireGuard: a missing socket is NotFoundError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const wg = new UserspaceWireGuard({ socketDir: dir });
    await assertRejects(() => wg.device("nope0"), NotFoundError, "nope0");
    await assertRejects(
      () => wg.device("bad/name"),
      TypeError,
      "interface name",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
