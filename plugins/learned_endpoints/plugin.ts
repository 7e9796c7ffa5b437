/**
 * The `learned-endpoints` plugin: a peer's real UDP mappings, as other
 * nodes observe them (edgespan's payload extension) or harvested for it,
 * go right after its local candidates, and harvested ones that no
 * handshake confirms age out (see {@linkcode learnedCandidates}). It reads
 * the affiliates and peer statuses the agent keeps; nodes publish their
 * observations when `kubespan.harvestExtraEndpoints` is on. It also
 * appends this node's own learned mappings (where up peers observe it) to
 * the endpoints it publishes, after its own, so that Talos peers, which
 * read only that list, try them too (see {@linkcode selfMappings}).
 *
 * @module
 */
import { definePlugin, type PassContext } from "../../core/plugins/types.ts";
import type {
  AffiliateSpec,
  PeerStatusSpec,
} from "../../core/resources/specs.ts";
import { ResourceType } from "../../core/resources/definitions.ts";
import { learnedCandidates } from "./learned.ts";
import { selfMappings } from "./self_mapping.ts";

/**
 * A handshake this recent confirms the live endpoint: WireGuard renews a
 * session every 120 s while keepalives flow, so an older one is stale.
 */
export const CONFIRM_WINDOW_MS = 180_000;

/** What the plugin reads of the agent's resources, once per pass. */
interface View {
  /** The mesh pass it was read in. */
  passId: number;
  affiliates: AffiliateSpec[];
  byKey: Map<string, AffiliateSpec>;
  live: Map<string, string>;
}

/**
 * Orders learned endpoints after local candidates; ages out stale ones;
 * publishes this node's own learned mappings after its own endpoints.
 */
export const learnedEndpointsPlugin = definePlugin({
  name: "learned-endpoints",
  hooks: ["endpointFilter"],
  version: "1.0.0",
  description:
    "Tries a peer's observed NAT mappings right after its local candidates; ages out unconfirmed harvested endpoints; publishes this node's own observed mappings after its endpoints (for Talos peers)",
  defaultEnabled: true,
  create(ctx) {
    /** Peer node id → harvested endpoint → last confirmed (ms). */
    const confirmed = new Map<string, Map<string, number>>();
    /** (peer node id, endpoint) pairs already logged as aged out. */
    const logged = new Set<string>();
    let view: View | undefined;

    function build(pass: PassContext): View {
      const affiliates = ctx.listResources<AffiliateSpec>(
        ResourceType.affiliates,
      ).map((r) => r.spec);
      const byKey = new Map<string, AffiliateSpec>();
      for (const a of affiliates) {
        if (a.kubespan?.publicKey) byKey.set(a.kubespan.publicKey, a);
      }
      const live = new Map<string, string>();
      const now = pass.now;
      for (
        const r of ctx.listResources<PeerStatusSpec>(ResourceType.peerstatuses)
      ) {
        // A session confirms its endpoint while WireGuard keeps renewing it.
        const hs = r.spec.lastHandshakeTime
          ? Date.parse(r.spec.lastHandshakeTime)
          : 0;
        if (r.spec.endpoint && hs > 0 && now - hs < CONFIRM_WINDOW_MS) {
          live.set(r.id, r.spec.endpoint);
        }
      }
      // Forget peers that left.
      const ids = new Set(affiliates.map((a) => a.nodeId));
      for (const id of confirmed.keys()) if (!ids.has(id)) confirmed.delete(id);
      for (const key of logged) {
        if (!ids.has(key.slice(0, key.indexOf("|")))) logged.delete(key);
      }
      return { passId: pass.passId, affiliates, byKey, live };
    }

    /** The resources are read once per mesh pass, for all its peers. */
    function current(pass: PassContext): View {
      if (view?.passId !== pass.passId) view = build(pass);
      return view;
    }

    /** This node's learned mapping → when an up peer last observed it. */
    let selfSeen = new Map<string, number>();

    /**
     * This node's own learned mappings, read from the resources of the
     * last pass (the local affiliate is built before this pass's).
     */
    function appended(own: readonly string[]): string[] {
      const affiliates = ctx.listResources<AffiliateSpec>(
        ResourceType.affiliates,
      ).map((r) => r.spec);
      const byKey = new Map<string, string>();
      for (const a of affiliates) {
        if (a.kubespan?.publicKey) byKey.set(a.kubespan.publicKey, a.nodeId);
      }
      const up = new Set<string>();
      for (
        const r of ctx.listResources<PeerStatusSpec>(ResourceType.peerstatuses)
      ) {
        const id = byKey.get(r.id);
        if (r.spec.state === "up" && id) up.add(id);
      }
      const self = ctx.identity.nodeId;
      const result = selfMappings({
        nodeId: self,
        nodeAddresses: affiliates.find((a) => a.nodeId === self)?.addresses ??
          [],
        own,
        observers: affiliates,
        up,
        seen: selfSeen,
        now: ctx.now(),
      });
      selfSeen = result.seen;
      return result.endpoints;
    }

    return {
      endpointFilter: {
        appended,
        advertised: (addresses) => [...addresses],
        accepted(endpoints, peer) {
          const v = current(peer.pass);
          const affiliate = v.byKey.get(peer.publicKey);
          if (!affiliate) return [...endpoints];
          const live = v.live.get(peer.publicKey);
          const result = learnedCandidates({
            endpoints,
            peer: affiliate,
            observers: v.affiliates,
            ...(live ? { liveEndpoint: live } : {}),
            confirmed: confirmed.get(affiliate.nodeId) ?? new Map(),
            now: peer.pass.now,
          });
          confirmed.set(affiliate.nodeId, result.confirmed);
          for (const e of result.learned) {
            logged.delete(`${affiliate.nodeId}|${e}`);
          }
          for (const e of result.aged) {
            const key = `${affiliate.nodeId}|${e}`;
            if (logged.has(key)) continue;
            logged.add(key);
            ctx.log.info("learned endpoint aged out", {
              peer: peer.publicKey,
              label: peer.label,
              endpoint: e,
            });
          }
          return result.endpoints;
        },
      },
    };
  },
});
