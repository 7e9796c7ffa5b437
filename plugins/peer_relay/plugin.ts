/**
 * The `peer-relay` plugin: a pair that cannot meet directly (both behind
 * symmetric NAT, UDP blocked on the path) talks through a box both ends are
 * up with that the site marked as a relay. The relay forwards the pair's
 * WireGuard datagrams unchanged between two UDP legs, so it sees only
 * ciphertext; the pair keeps probing its direct candidates and goes back
 * to direct as soon as one answers.
 *
 * Every box is a client (on by default); a box serves only with
 * `serve: true`, and then advertises a relay offer in edgespan's affiliate
 * extension (Talos skips it).
 *
 * @module
 */
import { formatIP, tryParseIP } from "../../core/netaddr/ip.ts";
import { definePlugin, type PathDecision } from "../../core/plugins/types.ts";
import { ResourceType } from "../../core/resources/definitions.ts";
import type {
  AffiliateSpec,
  PeerSpecSpec,
  PeerStatusSpec,
} from "../../core/resources/specs.ts";
import { chooseRelay, fnv1a, pairKey, preferredRelay } from "./choice.ts";
import { type OfferedRelay, RelayClient } from "./client.ts";
import { parseRelayOptions, type RelayOptions } from "./options.ts";
import { PATH_TIMERS, type PeerPath, stepPath } from "./path.ts";
import { type RelayServer, startRelayServer } from "./server.ts";

function canon(address: string): string {
  const ip = tryParseIP(address);
  return ip ? formatIP(ip) : address;
}

function hostOf(endpoint: string): string {
  if (endpoint.startsWith("[")) return endpoint.slice(1, endpoint.indexOf("]"));
  const i = endpoint.lastIndexOf(":");
  return i < 0 ? "" : endpoint.slice(0, i);
}

/** Relays pairs that cannot meet; serves as a relay with `serve: true`. */
export const peerRelayPlugin = definePlugin({
  name: "peer-relay",
  hooks: ["peerPath"],
  version: "1.0.0",
  description:
    "Relays a pair's WireGuard ciphertext through a shared relay box when the pair cannot meet directly; back to direct when it can",
  defaultEnabled: true,
  parseOptions: parseRelayOptions,
  create(ctx, options: RelayOptions) {
    const log = ctx.log.with({ component: "peer-relay" });
    const self = ctx.identity.spec.publicKey;
    const paths = new Map<string, PeerPath>();
    const timers = { ...PATH_TIMERS, ...options.timers };
    let server: RelayServer | undefined;
    let wake: ReturnType<typeof setTimeout> | undefined;
    /** A probe moves on each step: wake the loop (its tick may be 30 s). */
    function wakeForProbe(): void {
      if (wake !== undefined || ctx.signal.aborted) return;
      wake = setTimeout(() => {
        wake = undefined;
        ctx.requestReconcile("relay probe");
      }, timers.probeStepMs / 3);
      Deno.unrefTimer(wake);
    }

    const list = <S>(type: string) =>
      ctx.listResources<S>(type).map((r) => ({ id: r.id, spec: r.spec }));

    /**
     * The offered relays: read once per pass (a pass asks for every peer,
     * and the resources change only between passes); fresh when asked
     * outside a pass (the client's refresh timer).
     */
    let offered: { passId: number; relays: OfferedRelay[] } | undefined;
    let inPass: number | undefined;
    function relays(): OfferedRelay[] {
      if (inPass === undefined) return readRelays();
      if (offered?.passId !== inPass) {
        offered = { passId: inPass, relays: readRelays() };
      }
      return offered.relays;
    }

    function readRelays(): OfferedRelay[] {
      const statuses = new Map(
        list<PeerStatusSpec>(ResourceType.peerstatuses).map((
          r,
        ) => [r.id, r.spec]),
      );
      return list<AffiliateSpec>(ResourceType.affiliates).flatMap(
        ({ spec }) => {
          const ks = spec.kubespan;
          const offer = spec.edgespan?.relay;
          if (!ks || !offer || ks.publicKey === self || !ks.address) return [];
          const st = statuses.get(ks.publicKey);
          return [{
            key: ks.publicKey,
            label: spec.hostname || spec.nodeId,
            meshAddress: canon(ks.address),
            controlPort: offer.controlPort,
            priority: offer.priority,
            up: st?.state === "up",
            host: st ? hostOf(st.endpoint) : "",
          }];
        },
      );
    }

    const client = new RelayClient({
      self,
      relays,
      onChange: () => ctx.requestReconcile("relay answer"),
      onRefused: (peer, relay, reason) =>
        log.info("relay refused pair", {
          peer,
          relay: relays().find((r) => r.key === relay)?.label ?? relay,
          reason,
        }),
      now: ctx.now,
    });

    /** One peer's path in a pass (the relay state machine, then its effects). */
    function decidePath(
      publicKey: string,
      status: PeerStatusSpec,
      spec: PeerSpecSpec,
      now: number,
    ): PathDecision | undefined {
      const { ranked, views } = client.views(publicKey);
      const prev = paths.get(publicKey);
      const current = prev?.kind === "relayed" ? prev.choice.relay : undefined;
      const step = stepPath(prev, {
        now,
        state: status.state,
        endpoint: status.endpoint,
        receiveBytes: status.receiveBytes,
        transmitBytes: status.transmitBytes,
        lastHandshake: status.lastHandshakeTime
          ? Date.parse(status.lastHandshakeTime)
          : 0,
        candidates: spec.endpoints,
        choice: chooseRelay(ranked, views, now, current),
        standby: preferredRelay(ranked, views, now) !== undefined,
        // The same at both ends: they probe in the same slot.
        probeOffset: fnv1a(pairKey(self, publicKey)) %
          timers.probeIntervalMs,
      }, timers);
      paths.set(publicKey, step.path);
      if (step.path.kind === "relayed" && step.path.probe) wakeForProbe();
      if (step.failed) client.fail(publicKey, step.failed);
      if (step.wantRelay && ranked.length > 0) client.want(publicKey);
      if (step.poke) client.poke(canon(spec.address), options.controlPort);
      if (step.event) {
        log.info("peer path", {
          peer: publicKey,
          label: spec.label,
          path: step.decision.path,
          event: step.event,
        });
      }
      return step.decision;
    }

    return {
      peerPath: {
        decide(publicKey, status, spec, pass) {
          const now = pass.now;
          inPass = pass.passId;
          try {
            return decidePath(publicKey, status, spec, now);
          } finally {
            inPass = undefined;
          }
        },
        offer: () =>
          options.serve
            ? { controlPort: options.controlPort, priority: options.priority }
            : undefined,
        served: () =>
          server
            ? { pairs: server.pairs(), refusals: server.refusals() }
            : undefined,
      },
      start() {
        if (ctx.oneShot) return;
        client.start();
        if (!options.serve) return;
        const specs = () => list<PeerSpecSpec>(ResourceType.peerspecs);
        server = startRelayServer({
          meshAddress: canon(ctx.identity.spec.address.split("/")[0]!),
          controlPort: options.controlPort,
          ports: options.ports,
          maxPairs: options.maxPairs,
          maxBytesPerSecond: options.maxBytesPerSecond,
          view: {
            keyOfAddress: (a) =>
              specs().find((s) => canon(s.spec.address) === canon(a))?.id,
            isPeer: (k) => specs().some((s) => s.id === k),
            hostOf: (k) => {
              const st = list<PeerStatusSpec>(ResourceType.peerstatuses)
                .find((s) => s.id === k)?.spec;
              const h = st ? hostOf(st.endpoint) : "";
              return h ? canon(h) : undefined;
            },
            labelOf: (k) => specs().find((s) => s.id === k)?.spec.label ?? k,
          },
          log,
          now: ctx.now,
          signal: ctx.signal,
        });
      },
      async stop() {
        if (wake !== undefined) clearTimeout(wake);
        client.stop();
        await server?.stop();
      },
    };
  },
});
