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
