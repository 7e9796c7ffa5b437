/**
 * Test helpers for two WireGuard nodes in two netns joined by a veth: keys,
 * addresses, each node's device config, a ping across, and a read-back
 * check against `wg show <if> dump`. Shared by the userspace ping test
 * (host) and the kernel suite (VM guest); relative imports only.
 */
import { RtNetlink } from "../../../ffi/rtnetlink/rtnetlink.ts";
import { derivePublicKey } from "../../../ffi/wireguard/uapi.ts";
import type { WgDevice, WgDeviceConfig } from "../../../ffi/wireguard/types.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";
import { addVeth, run, runOk } from "../../_tools/netns.ts";
import {
  dumpViewOf,
  parseWgDump,
  randomPrivateKey,
  sortedView,
} from "./_wg_dump.ts";

/** One node: its netns, WireGuard interface, keys and addresses. */
export interface TestNode {
  ns: string;
  ifname: string;
  priv: string;
  pub: string;
  /** Underlay (veth) address. */
  under: string;
  /** Overlay (WireGuard) address. */
  over: string;
}

/**
 * Joins netns `a` and `b` by a veth on `<underlay>.0/24` and returns two
 * nodes with fresh keys and overlay addresses on `<overlay>.0/24`.
 */
export async function twoNodes(
  [a, b]: [string, string],
  ifnames: [string, string],
  underlay: string,
  overlay: string,
): Promise<[TestNode, TestNode]> {
  await addVeth(a, "va", "vb", {
    peerNetns: b,
    address: `${underlay}.1/24`,
    peerAddress: `${underlay}.2/24`,
  });
  const mk = async (ns: string, i: 0 | 1): Promise<TestNode> => {
    const priv = randomPrivateKey();
    return {
      ns,
      ifname: ifnames[i],
      priv,
      pub: await derivePublicKey(priv),
      under: `${underlay}.${i + 1}`,
      over: `${overlay}.${i + 1}`,
    };
  };
  return [await mk(a, 0), await mk(b, 1)];
}

/** The device config of `n` with `peer` as its only peer. */
export function nodeConfig(n: TestNode, peer: TestNode): WgDeviceConfig {
  return {
    privateKey: n.priv,
    listenPort: 51820,
    replacePeers: true,
    peers: [{
      publicKey: peer.pub,
      endpoint: `${peer.under}:51820`,
      persistentKeepaliveInterval: 0,
      replaceAllowedIPs: true,
      allowedIPs: [`${peer.over}/32`],
    }],
  };
}

/**
 * Gives the node's WireGuard interface its overlay address and sets it up,
 * over rtnetlink: the same for a kernel link and a wireguard-go TUN.
 */
export async function addressAndUp(n: TestNode): Promise<void> {
  const rt = await RtNetlink.open({ netns: n.ns });
  try {
    await rt.addAddress(n.ifname, `${n.over}/24`);
    await rt.setLink(n.ifname, { up: true });
  } finally {
    rt.close();
  }
}

/** Pings `to` twice from inside `from` with busybox; asserts success. */
export async function assertPing(from: TestNode, to: TestNode): Promise<void> {
  const ping = await run("ip", [
    "netns",
    "exec",
    from.ns,
    "busybox",
    "ping",
    "-c",
    "2",
    "-W",
    "3",
    to.over,
  ]);
  console.log(ping.stdout.trim().split("\n").at(-1));
  assertEquals(ping.code, 0, `ping failed: ${ping.stdout}${ping.stderr}`);
}

/**
 * Asserts that our read-back of `n` equals `wg show <if> dump` (run in its
 * netns) and that the tunnel carried a handshake and traffic.
 */
export async function assertMatchesWg(
  n: TestNode,
  ours: WgDevice,
): Promise<void> {
  const dump = await runOk("ip", [
    "netns",
    "exec",
    n.ns,
    "wg",
    "show",
    n.ifname,
    "dump",
  ]);
  assertEquals(sortedView(dumpViewOf(ours)), sortedView(parseWgDump(dump)));
  assertEquals([ours.publicKey, ours.listenPort], [n.pub, 51820]);
  assertEquals(ours.peers.length, 1);
  assert(ours.peers[0]!.lastHandshakeTime > 0, "no handshake recorded");
  assert(ours.peers[0]!.receiveBytes > 0, "no bytes received");
}
