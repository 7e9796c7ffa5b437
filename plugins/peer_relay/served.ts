/**
 * What a relay box shows of the pairs it serves: one `relaypairs` row per
 * pair (labels, leg ports, latched addresses, bytes each way, since) and
 * its refusals counted by kind. Pure; the server supplies its table and
 * forwarders' counters.
 *
 * @module
 */
import type { RelayPairSpec } from "../../core/resources/specs.ts";
import type { PairCounters } from "./forwarder.ts";
import type { UdpAddress } from "./legs.ts";
import type { Allocation } from "./table.ts";

/** The live side of one pair: its forwarder's counters and latched senders. */
export interface PairLive {
  counters: PairCounters;
  latched: readonly [UdpAddress | undefined, UdpAddress | undefined];
}

function hostPort(a: UdpAddress | undefined): string {
  if (!a) return "";
  return a.address.includes(":")
    ? `[${a.address}]:${a.port}`
    : `${a.address}:${a.port}`;
}

/**
 * The `relaypairs` rows of the pairs allocated now, keyed by `label–label`
 * (by the pair's keys when two pairs share labels). A pair whose legs are
 * still being bound has zero counters and nothing latched.
 */
export function relayPairRows(
  allocations: readonly Allocation[],
  live: (pair: string) => PairLive | undefined,
  labelOf: (key: string) => string,
): Map<string, RelayPairSpec> {
  const rows = new Map<string, RelayPairSpec>();
  for (const a of allocations) {
    const l = live(a.pair);
    const labels: [string, string] = [labelOf(a.keys[0]), labelOf(a.keys[1])];
    const spec: RelayPairSpec = {
      labels,
      peers: [a.keys[0], a.keys[1]],
      ports: [a.ports[0], a.ports[1]],
      latched: [hostPort(l?.latched[0]), hostPort(l?.latched[1])],
      bytes: l ? [l.counters.legBytes[0], l.counters.legBytes[1]] : [0, 0],
      packets: l?.counters.forwardedPackets ?? 0,
      dropped: l?.counters.dropped ?? 0,
      since: new Date(a.createdAt).toISOString(),
    };
    const id = `${labels[0]}–${labels[1]}`;
    rows.set(rows.has(id) ? a.pair : id, spec);
  }
  return rows;
}

/** Refusal kinds, the `reason` label of `edgespan_relay_refusals_total`. */
export type RefusalKind = "full" | "ports" | "bind" | "self" | "other";

/** The kind of a refusal the relay answered (a bounded label value). */
export function refusalKind(reason: string): RefusalKind {
  if (reason.startsWith("relay full")) return "full";
  if (reason.includes("out of leg ports")) return "ports";
  if (reason.includes("cannot bind")) return "bind";
  if (reason.includes("itself")) return "self";
  return "other";
}

/** Counts one refusal by its kind (mutates `counts`). */
export function countRefusal(
  counts: Record<string, number>,
  reason: string,
): void {
  const kind = refusalKind(reason);
  counts[kind] = (counts[kind] ?? 0) + 1;
}
