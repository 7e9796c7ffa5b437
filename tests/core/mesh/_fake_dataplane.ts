import type {
  ApplyReport,
  Dataplane,
  DevicePeer,
  PeerUpdate,
} from "../../../core/mesh/dataplane.ts";
import type { MeshKernelState } from "../../../core/mesh/kernel_state.ts";

/** An in-memory WireGuard device and routing state, recording every call. */
export class FakeDataplane implements Dataplane {
  readonly backend = "fake";
  link: MeshKernelState["link"] | undefined;
  linkCreations = 0;
  peers = new Map<string, DevicePeer & { presharedKey?: string }>();
  routing: MeshKernelState | undefined;
  updates: PeerUpdate[][] = [];
  cleanups: string[] = [];

  ensureLink(link: MeshKernelState["link"]): Promise<void> {
    if (!this.link) this.linkCreations++;
    this.link = link;
    return Promise.resolve();
  }

  devicePeers(): Promise<DevicePeer[]> {
    return Promise.resolve([...this.peers.values()].map((p) => ({ ...p })));
  }

  updatePeers(_name: string, updates: PeerUpdate[]): Promise<void> {
    this.updates.push(updates);
    for (const u of updates) {
      if (u.remove) {
        this.peers.delete(u.publicKey);
        continue;
      }
      const p = this.peers.get(u.publicKey) ?? {
        publicKey: u.publicKey,
        endpoint: "",
        lastHandshakeTime: 0,
        receiveBytes: 0,
        transmitBytes: 0,
        allowedIPs: [],
        persistentKeepaliveInterval: 0,
        hasPresharedKey: false,
      };
      if (u.presharedKey) {
        p.presharedKey = u.presharedKey;
        p.hasPresharedKey = true;
      }
      if (u.endpoint !== undefined) p.endpoint = u.endpoint;
      if (u.persistentKeepaliveInterval !== undefined) {
        p.persistentKeepaliveInterval = u.persistentKeepaliveInterval;
      }
      if (u.allowedIPs) p.allowedIPs = [...u.allowedIPs];
      this.peers.set(u.publicKey, p);
    }
    return Promise.resolve();
  }

  applyRouting(state: MeshKernelState): Promise<ApplyReport> {
    const changed = JSON.stringify(state) !== JSON.stringify(this.routing);
    this.routing = structuredClone(state);
    return Promise.resolve({ added: changed ? 1 : 0, removed: 0 });
  }

  cleanup(linkName: string, nftTable: string): Promise<void> {
    this.cleanups.push(`${linkName}/${nftTable}`);
    this.link = undefined;
    this.routing = undefined;
    this.peers.clear();
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Simulates a completed handshake. */
  handshake(publicKey: string, at: number, endpoint?: string): void {
    const p = this.peers.get(publicKey)!;
    p.lastHandshakeTime = at;
    p.receiveBytes += 92;
    p.transmitBytes += 148;
    if (endpoint) p.endpoint = endpoint;
  }
}
