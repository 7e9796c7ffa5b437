/**
 * The mesh step of a reconcile pass: peer specs, peer statuses, WireGuard
 * peers, observed endpoints and routing, each decision made by a plugin,
 * applied through a {@linkcode Dataplane}.
 *
 * @module
 */
import type { MeshPassInput, MeshStep } from "../agent.ts";
import type { PeerView } from "../plugins/types.ts";
import { ResourceType } from "../resources/definitions.ts";
import type {
  EndpointSpec,
  PeerSpecSpec,
  PeerStatusSpec,
} from "../resources/specs.ts";
import { type Dataplane, dataplaneCheck } from "./dataplane.ts";
import {
  desiredKernelState,
  MeshConstants,
  observedEndpoints,
} from "./kernel_state.ts";
import { diffPeers } from "./peer_diff.ts";
import { buildPeerSpecs } from "./peer_specs.ts";
import type { PeerTimers } from "./peer_state.ts";
import {
  discoveryDestinations,
  type HostResolver,
  servedDiscoveryPorts,
} from "./discovery_bypass.ts";
import { type PeerStats, stepPeerStatuses } from "./peer_status.ts";

/** Options for {@linkcode createMeshStep}. */
export interface MeshStepOptions {
  /** Resolves discovery host names (to keep them out of the tunnel). @default DNS */
  resolveHost?: HostResolver;
  /** Timers of the state machine. @default KubeSpan's */
  timers?: PeerTimers;
  /** nft table name (family inet). @default "edgespan" */
  nftTable?: string;
}

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
  const warned = new Set<string>();

  async function disable(input: MeshPassInput): Promise<void> {
    if (linkName !== undefined) {
      await dataplane.cleanup(linkName, nftTable);
      input.log.info("kubespan disabled: mesh link and routing removed", {
        link: linkName,
      });
      linkName = undefined;
    }
    for (
      const type of [
        ResourceType.peerspecs,
        ResourceType.peerstatuses,
        ResourceType.endpoints,
      ]
    ) {
      input.store.replaceAll(type, new Map());
    }
  }

  return {
    async pass(input) {
      const { config, identity, remote, store, registry, log, now } = input;
      if (!config.kubespan.enabled) return await disable(input);
      const name = config.wireguard.interface;

      const { specs, warnings } = buildPeerSpecs({
        affiliates: remote,
        localNodeId: identity.nodeId,
        acceptEndpoints: (endpoints, peer) =>
          registry.pipeline(
            "endpointFilter",
            "accepted",
            [...endpoints],
            (h, v) => h.accepted(v, peer),
          ),
      });
      for (const w of warnings) {
        const key = `${w.publicKey}|${w.removed.join(",")}`;
        if (warned.has(key)) continue;
        warned.add(key);
        log.warn("peer address overlap", {
          node: w.nodeId,
          peer: w.publicKey,
          removed: w.removed,
        });
      }
      store.replaceAll<PeerSpecSpec>(ResourceType.peerspecs, specs);

      const desiredLink = {
        name,
        mtu: config.kubespan.mtu,
        listenPort: config.wireguard.listenPort,
        firewallMark: MeshConstants.firewallMark,
      };
      try {
        await dataplane.ensureLink(desiredLink, identity.spec.privateKey);
        linkName = name;
        const devicePeers = await dataplane.devicePeers(name);
        const stats = new Map<string, PeerStats>(
          devicePeers.map((p) => [p.publicKey, p]),
        );
        const previous = new Map(
          store.list<PeerStatusSpec>(ResourceType.peerstatuses).map((r) =>
            [r.id, r.spec] as const
          ),
        );
        const step = stepPeerStatuses({
          specs,
          previous,
          stats,
          now,
          ...(options.timers ? { timers: options.timers } : {}),
          nextEndpoint: (status, spec) =>
            registry.first(
              "peerSelection",
              "nextEndpoint",
              (h) => h.nextEndpoint(status, spec, now),
              () => undefined,
            ),
        });
        const updates = diffPeers(devicePeers, step.peers, {
          presharedKey: config.cluster.secret,
          keepaliveSeconds: MeshConstants.keepaliveSeconds,
          forcePresharedKey: lastSecret !== undefined &&
            lastSecret !== config.cluster.secret,
        });
        await dataplane.updatePeers(name, updates);
        lastSecret = config.cluster.secret;
        store.replaceAll<PeerStatusSpec>(
          ResourceType.peerstatuses,
          step.statuses,
        );
        for (const c of step.changes) {
          const fields = {
            peer: c.publicKey,
            label: c.label,
            from: c.from,
            to: c.to,
            endpoint: c.endpoint,
          };
          if (c.endpointChanged) log.info("peer endpoint selected", fields);
          else log.info("peer state changed", fields);
        }
        const affiliateOf = new Map(
          remote.flatMap((
            a,
          ) => (a.kubespan ? [[a.kubespan.publicKey, a.nodeId] as const] : [])),
        );
        // As in Talos, endpoints are only observed while harvesting is on.
        store.replaceAll<EndpointSpec>(
          ResourceType.endpoints,
          config.kubespan.harvestExtraEndpoints
            ? observedEndpoints(step.statuses, (k) => affiliateOf.get(k))
            : new Map(),
        );
        const views: PeerView[] = [...specs].map(([publicKey, spec]) => ({
          publicKey,
          spec,
          status: step.statuses.get(publicKey),
        }));
        const forced = registry.first(
          "downPeerBypass",
          "forcedPeers",
          (h) => h.forcedPeers(views),
          () => new Set(views.map((v) => v.publicKey)),
        );
        const state = desiredKernelState({
          linkName: name,
          mtu: config.kubespan.mtu,
          listenPort: config.wireguard.listenPort,
          address: identity.addressPrefix,
          subnet: identity.subnetPrefix,
          routedPrefixes: views.filter((v) => forced.has(v.publicKey)).flatMap((
            v,
          ) => v.spec.allowedIPs),
          nftTable,
          neverRouted: await discoveryDestinations(config, options.resolveHost),
          bypassTcpSourcePorts: servedDiscoveryPorts(config),
        });
        const report = await dataplane.applyRouting(state);
        if (report.added + report.removed > 0) {
          log.info("routing applied", { ...report });
        }
        peersTotal = step.statuses.size;
        peersUp = [...step.statuses.values()].filter((s) =>
          s.state === "up"
        ).length;
        lastApplyError = "";
      } catch (e) {
        lastApplyError = e instanceof Error ? e.message : String(e);
        throw e;
      }
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
