/**
 * The mesh step of a reconcile pass: peer specs, peer statuses, WireGuard
 * peers, observed endpoints and routing, each decision made by a plugin
 * (through the hooks facade), applied through a {@linkcode Dataplane}. The
 * pass returns what it computed; the agent stores it.
 *
 * @module
 */
import { logEvent, peerChangeEvent } from "../log/events.ts";
import type { PassContext, PeerView } from "../plugins/types.ts";
import type {
  EndpointSpec,
  PeerSpecSpec,
  PeerStatusSpec,
} from "../resources/specs.ts";
import {
  type Dataplane,
  dataplaneCheck,
  type DevicePeer,
} from "./dataplane.ts";
import {
  desiredKernelState,
  MeshConstants,
  observedEndpoints,
} from "./kernel_state.ts";
import { diffPeers } from "./peer_diff.ts";
import { crossedHandshakes, newHandshakeRaceState } from "./handshake_race.ts";
import { buildPeerSpecs } from "./peer_specs.ts";
import type { PeerTimers } from "./peer_state.ts";
import {
  type PeerChange,
  type PeerStats,
  type PeerStatusStepResult,
  stepPeerStatuses,
} from "./peer_status.ts";
import {
  MeshPassError,
  type MeshPassInput,
  type MeshPassResult,
  type MeshStep,
} from "./types.ts";

/** Options for {@linkcode createMeshStep}. */
export interface MeshStepOptions {
  /** Timers of the state machine. @default KubeSpan's */
  timers?: PeerTimers;
  /** nft table name (family inet). @default "edgespan" */
  nftTable?: string;
}

type PeerSpecs = Map<string, PeerSpecSpec>;
type PeerStatuses = Map<string, PeerStatusSpec>;

const EMPTY = (): MeshPassResult => ({
  peerspecs: new Map(),
  peerstatuses: new Map(),
  endpoints: new Map(),
});

/** Builds the mesh step over a dataplane. */
export function createMeshStep(
  dataplane: Dataplane,
  options: MeshStepOptions = {},
): MeshStep {
  const nftTable = options.nftTable ?? "edgespan";
  let linkName: string | undefined;
  let lastSecret: string | undefined;
  let lastApplyError = "";
  let peersUp = 0;
  let peersTotal = 0;
  /** Passes that built peer specs (the endpoint hooks' pass id). */
  let passes = 0;
  const warned = new Set<string>();
  const race = newHandshakeRaceState();
  /** The node's addresses (with lengths) in the previous pass. */
  let lastLocal: ReadonlySet<string> | undefined;

  /** KubeSpan off: remove the link and routing, publish no peers. */
  async function disable(input: MeshPassInput): Promise<MeshPassResult> {
    if (linkName !== undefined) {
      await dataplane.cleanup(linkName, nftTable);
      input.log.info("kubespan disabled: mesh link and routing removed", {
        link: linkName,
      });
      linkName = undefined;
    }
    return EMPTY();
  }

  /**
   * Affiliates → peer specs, peer endpoints through the endpoint filters
   * and the endpoint order, every peer with the same pass context.
   */
  function peerSpecs(input: MeshPassInput, pass: PassContext): PeerSpecs {
    const { specs, warnings } = buildPeerSpecs({
      affiliates: input.remote,
      localNodeId: input.identity.nodeId,
      acceptEndpoints: (endpoints, who) => {
        const peer = { ...who, pass };
        return input.hooks.endpointOrder.order(
          input.hooks.endpointFilter.accepted([...endpoints], peer),
          { ...peer, localPrefixes: input.localPrefixes ?? [] },
        );
      },
    });
    for (const w of warnings) {
      const key = `${w.publicKey}|${w.removed.join(",")}`;
      if (warned.has(key)) continue;
      warned.add(key);
      input.log.warn("peer address overlap", {
        node: w.nodeId,
        peer: w.publicKey,
        removed: w.removed,
      });
    }
    return specs;
  }

  /** Creates or updates the WireGuard link; returns its peers as they are. */
  async function ensureLink(input: MeshPassInput): Promise<DevicePeer[]> {
    const { config, identity } = input;
    const name = config.wireguard.interface;
    await dataplane.ensureLink({
      name,
      mtu: config.kubespan.mtu,
      listenPort: config.wireguard.listenPort,
      firewallMark: MeshConstants.firewallMark,
    }, identity.spec.privateKey);
    linkName = name;
    return await dataplane.devicePeers(name);
  }

  /** The state machine over the device stats; peer selection picks endpoints. */
  function nextStatuses(
    input: MeshPassInput,
    pass: PassContext,
    specs: PeerSpecs,
    devicePeers: readonly DevicePeer[],
  ): PeerStatusStepResult {
    const { hooks, now } = input;
    return stepPeerStatuses({
      specs,
      previous: input.previous,
      stats: new Map<string, PeerStats>(
        devicePeers.map((p) => [p.publicKey, p]),
      ),
      now,
      ...(options.timers ? { timers: options.timers } : {}),
      nextEndpoint: (status, spec) =>
        hooks.peerSelection.nextEndpoint(status, spec, now),
      restartHandshake: (status, spec) =>
        hooks.peerSelection.restartHandshake(status, spec, now) ?? false,
      judge: (status, spec) => hooks.peerSelection.judge(status, spec, now),
      path: (key, status, spec) =>
        hooks.peerPath.decide(key, status, spec, pass),
    });
  }

  /**
   * Node addresses of the previous pass that are gone: the box's underlay
   * moved, so its sessions' replies go to an address it no longer has.
   */
  function lostAddresses(input: MeshPassInput): string[] {
    if (input.localPrefixes === undefined) return [];
    const before = lastLocal;
    lastLocal = new Set(input.localPrefixes);
    return before ? [...before].filter((p) => !lastLocal!.has(p)) : [];
  }

  /** Brings the device's peers in line with the step (PSK, keepalive, endpoint). */
  async function configurePeers(
    input: MeshPassInput,
    devicePeers: DevicePeer[],
    step: PeerStatusStepResult,
  ): Promise<void> {
    const secret = input.config.cluster.secret;
    const crossed = new Set(
      crossedHandshakes(
        input.identity.spec.publicKey,
        devicePeers,
        input.now,
        race,
      ),
    );
    // never for a peer whose endpoint roamed (a NAT mapping learned from
    // its packets): re-adding it would throw that mapping away
    const onDevice = new Map(devicePeers.map((p) => [p.publicKey, p.endpoint]));
    let desired = crossed.size === 0
      ? step.peers
      : step.peers.map((d) =>
        crossed.has(d.publicKey) && d.endpoint !== undefined &&
          onDevice.get(d.publicKey) === d.endpoint
          ? { ...d, restartHandshake: true }
          : d
      );
    const lost = lostAddresses(input);
    if (lost.length > 0) {
      // A fresh handshake from the new address to every peer with an
      // endpoint: each answers it there and roams to it at once, instead of
      // at the next keepalive or rekey (or after its endpoint search).
      desired = desired.map((d) => {
        const endpoint = d.endpoint ?? onDevice.get(d.publicKey);
        return endpoint ? { ...d, endpoint, restartHandshake: true } : d;
      });
      input.log.info(
        "node address gone: restarting handshakes from the new one",
        {
          removed: lost,
          peers: desired.filter((d) => d.restartHandshake).length,
        },
      );
    }
    const updates = diffPeers(devicePeers, desired, {
      presharedKey: secret,
      keepaliveSeconds: MeshConstants.keepaliveSeconds,
      forcePresharedKey: lastSecret !== undefined && lastSecret !== secret,
      localPublicKey: input.identity.spec.publicKey,
    });
    await dataplane.updatePeers(input.config.wireguard.interface, updates);
    lastSecret = secret;
  }

  function logChanges(input: MeshPassInput, changes: PeerChange[]): void {
    for (const c of changes) logEvent(input.log, peerChangeEvent(c));
  }

  /** Endpoints peers were reached at; as in Talos, only while harvesting is on. */
  function harvested(
    input: MeshPassInput,
    statuses: PeerStatuses,
  ): Map<string, EndpointSpec> {
    if (!input.config.kubespan.harvestExtraEndpoints) return new Map();
    const affiliateOf = new Map(
      input.remote.flatMap((a) =>
        a.kubespan ? [[a.kubespan.publicKey, a.nodeId] as const] : []
      ),
    );
    return observedEndpoints(statuses, (k) => affiliateOf.get(k));
  }

  /** Prefixes routed into the tunnel: the peers the bypass plugin forces. */
  function routedPrefixes(
    input: MeshPassInput,
    specs: PeerSpecs,
    statuses: PeerStatuses,
  ): string[] {
    const views: PeerView[] = [...specs].map(([publicKey, spec]) => ({
      publicKey,
      spec,
      status: statuses.get(publicKey),
    }));
    const forced = input.hooks.downPeerBypass.forcedPeers(views) ??
      new Set(views.map((v) => v.publicKey));
    return views.filter((v) => forced.has(v.publicKey)).flatMap((v) =>
      v.spec.allowedIPs
    );
  }

  /** Address, routes, rules and nft sets, applied as a diff. */
  async function applyRouting(
    input: MeshPassInput,
    routed: string[],
  ): Promise<void> {
    const { config, identity, hooks, log } = input;
    const destinations = await hooks.tunnelBypass.destinations();
    const state = desiredKernelState({
      linkName: config.wireguard.interface,
      mtu: config.kubespan.mtu,
      listenPort: config.wireguard.listenPort,
      address: identity.addressPrefix,
      subnet: identity.subnetPrefix,
      routedPrefixes: routed,
      nftTable,
      neverRouted: [...new Set(destinations.flatMap((d) => d.value))],
      bypassTcpSourcePorts: [
        ...new Set(hooks.tunnelBypass.replyPorts().flatMap((p) => p.value)),
      ],
    });
    const report = await dataplane.applyRouting(state);
    if (report.added + report.removed > 0) {
      log.info("routing applied", { ...report });
    }
  }

  function count(statuses: PeerStatuses): void {
    peersTotal = statuses.size;
    peersUp = [...statuses.values()].filter((s) => s.state === "up").length;
  }

  return {
    async pass(input) {
      if (!input.config.kubespan.enabled) return await disable(input);
      // One context for every hook call of this pass.
      const pass: PassContext = { passId: ++passes, now: input.now };
      const peerspecs = peerSpecs(input, pass);
      const out: Partial<MeshPassResult> = { peerspecs };
      try {
        const devicePeers = await ensureLink(input);
        const step = nextStatuses(input, pass, peerspecs, devicePeers);
        await configurePeers(input, devicePeers, step);
        out.peerstatuses = step.statuses;
        logChanges(input, step.changes);
        out.endpoints = harvested(input, step.statuses);
        await applyRouting(
          input,
          routedPrefixes(input, peerspecs, step.statuses),
        );
        count(step.statuses);
        lastApplyError = "";
        return {
          peerspecs,
          peerstatuses: step.statuses,
          endpoints: out.endpoints,
        };
      } catch (e) {
        lastApplyError = e instanceof Error ? e.message : String(e);
        throw new MeshPassError(out, e);
      }
    },
    async peers() {
      return linkName ? await dataplane.devicePeers(linkName) : [];
    },
    async cleanup(config) {
      await dataplane.cleanup(config.wireguard.interface, nftTable);
      linkName = undefined;
    },
    async close() {
      await dataplane.close();
    },
    health() {
      return dataplane.health?.();
    },
    checks() {
      return {
        link: {
          ok: linkName !== undefined && lastApplyError === "",
          detail: lastApplyError ||
            (linkName
              ? `${linkName} (${dataplane.backend})`
              : "not created yet"),
        },
        peers: { ok: true, detail: `${peersUp}/${peersTotal} up` },
        ...(dataplane.health
          ? { dataplane: dataplaneCheck(dataplane.health()) }
          : {}),
      };
    },
  };
}
