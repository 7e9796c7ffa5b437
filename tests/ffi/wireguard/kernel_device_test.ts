/**
 * Kernel WireGuard end to end over generic netlink, in a fresh netns.
 * Needs a kernel with the wireguard family: on the host it skips with the
 * reason printed; the VM tier runs it.
 */
import { NotFoundError } from "../../../ffi/netlink/errors.ts";
import { RtNetlink } from "../../../ffi/rtnetlink/mod.ts";
import { KernelWireGuard } from "../../../ffi/wireguard/kernel.ts";
import { assert, assertEquals, assertRejects } from "../../_tools/assert.ts";
import { canUseNetns, run, withNetns } from "../../_tools/netns.ts";

async function probe(): Promise<string | undefined> {
  const ns = await canUseNetns();
  if (ns) return ns;
  try {
    (await KernelWireGuard.open()).close();
    return undefined;
  } catch (err) {
    if (err instanceof NotFoundError) {
      return "this kernel has no WireGuard (runs in the VM tier)";
    }
    return `cannot open generic netlink: ${err}`;
  }
}

const reason = await probe();
if (reason) console.log(`skipping kernel WireGuard device tests: ${reason}`);

function b64(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b));
}

async function keyPair(): Promise<{ priv: string; pub: string }> {
  const kp = await crypto.subtle.generateKey({ name: "X25519" }, true, [
    "deriveBits",
  ]) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey("jwk", kp.privateKey);
  const d = Uint8Array.from(
    atob((jwk.d ?? "").replace(/-/g, "+").replace(/_/g, "/")),
    (c) => c.charCodeAt(0),
  );
  d[0] = (d[0] ?? 0) & 248;
  d[31] = ((d[31] ?? 0) & 127) | 64;
  const pub = new Uint8Array(
    await crypto.subtle.exportKey("raw", kp.publicKey),
  );
  return { priv: b64(d), pub: b64(pub) };
}

Deno.test({
  name:
    "KernelWireGuard configures 2 peers (IPv4 + IPv6 endpoints, 301 allowed IPs), reads back, replaces, removes",
  ignore: reason !== undefined,
  fn: () =>
    withNetns("kwg", async (ns) => {
      const rt = await RtNetlink.open({ netns: ns });
      const wg = await KernelWireGuard.open({ netns: ns });
      try {
        await rt.createLink("wg0", "wireguard");
        assertEquals((await rt.link("wg0")).kind, "wireguard");
        const [me, p1, p2] = [
          await keyPair(),
          await keyPair(),
          await keyPair(),
        ];
        const psk = b64(crypto.getRandomValues(new Uint8Array(32)));
        const many = Array.from(
          { length: 300 },
          (_, i) => `10.200.${i >> 8}.${i & 255}/32`,
        );
        await wg.configure("wg0", {
          privateKey: me.priv,
          listenPort: 51820,
          firewallMark: 0x20,
          replacePeers: true,
          peers: [
            {
              publicKey: p1.pub,
              presharedKey: psk,
              endpoint: "192.0.2.1:51820",
              persistentKeepaliveInterval: 25,
              replaceAllowedIPs: true,
              allowedIPs: ["10.1.0.0/16", ...many],
            },
            {
              publicKey: p2.pub,
              endpoint: "[2001:db8::2]:51821",
              replaceAllowedIPs: true,
              allowedIPs: ["fd00::2/128"],
            },
          ],
        });
        const dev = await wg.device("wg0");
        assertEquals([
          dev.name,
          dev.publicKey,
          dev.listenPort,
          dev.firewallMark,
        ], ["wg0", me.pub, 51820, 0x20]);
        const byKey = new Map(dev.peers.map((p) => [p.publicKey, p]));
        const a = byKey.get(p1.pub);
        const b = byKey.get(p2.pub);
        assertEquals(dev.peers.length, 2);
        assertEquals(
          [
            a?.endpoint,
            a?.persistentKeepaliveInterval,
            a?.hasPresharedKey,
            a?.allowedIPs.length,
          ],
          ["192.0.2.1:51820", 25, true, 301],
        );
        assertEquals([b?.endpoint, b?.allowedIPs, b?.hasPresharedKey], [
          "[2001:db8::2]:51821",
          ["fd00::2/128"],
          false,
        ]);

        const dump = await run("ip", [
          "netns",
          "exec",
          ns,
          "wg",
          "show",
          "wg0",
          "dump",
        ]);
        if (dump.code === 0) {
          const lines = dump.stdout.trim().split("\n").slice(1).map((l) =>
            l.split("\t")
          );
          const row = lines.find((l) => l[0] === p2.pub);
          assertEquals([row?.[2], row?.[3]], [
            "[2001:db8::2]:51821",
            "fd00::2/128",
          ]);
          assertEquals(
            lines.find((l) => l[0] === p1.pub)?.[3]?.split(",").length,
            301,
          );
        }

        // without replacePeers an update keeps what it does not mention
        await wg.configure("wg0", {
          peers: [{
            publicKey: p2.pub,
            replaceAllowedIPs: true,
            allowedIPs: ["fd00::4/128"],
          }],
        });
        const kept = (await wg.device("wg0")).peers.find((p) =>
          p.publicKey === p2.pub
        );
        assertEquals([kept?.endpoint, kept?.allowedIPs], [
          "[2001:db8::2]:51821",
          ["fd00::4/128"],
        ]);
        // replacePeers drops every peer and re-creates the listed ones from
        // scratch, so the endpoint of p2 is gone (kernel and wgctrl semantics)
        await wg.configure("wg0", {
          replacePeers: true,
          peers: [{
            publicKey: p2.pub,
            replaceAllowedIPs: true,
            allowedIPs: ["fd00::3/128"],
          }],
        });
        const dev2 = await wg.device("wg0");
        assertEquals(
          dev2.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIPs]),
          [
            [p2.pub, "", ["fd00::3/128"]],
          ],
        );
        await wg.configure("wg0", {
          peers: [{ publicKey: p2.pub, remove: true }],
        });
        assertEquals((await wg.device("wg0")).peers, []);
        await assertRejects(() => wg.device("nope0"), NotFoundError);
        assert((await wg.device("wg0")).listenPort === 51820);
      } finally {
        wg.close();
        rt.close();
      }
    }),
});
