/**
 * The contract between the agent and the mesh step: what one pass receives
 * (config, peers, the hooks it may call, the previous statuses) and what it
 * returns for the agent to store.
 *
 * @module
 */
import type { EdgespanConfig } from "../config/types.ts";
import type { LocalIdentity } from "../identity/identity.ts";
import type { Logger } from "../log/logger.ts";
import type { HookCallers } from "../plugins/types.ts";
import type {
  AffiliateSpec,
  EndpointSpec,
  PeerSpecSpec,
  PeerStatusSpec,
} from "../resources/specs.ts";
import type { DataplaneHealth } from "./dataplane.ts";
import type { HandshakeReading } from "../reconcile/handshake_poll.ts";

/** The hook groups the mesh step calls. */
export type MeshHooks = Pick<
  HookCallers,
  | "endpointFilter"
  | "endpointOrder"
  | "peerSelection"
  | "downPeerBypass"
  | "tunnelBypass"
  | "peerPath"
>;

/** What the mesh step (peer specs, statuses, kernel state) receives each pass. */
export interface MeshPassInput {
  config: EdgespanConfig;
  identity: LocalIdentity;
  /** The other nodes (merged affiliates, this node excluded). */
  remote: readonly AffiliateSpec[];
  hooks: MeshHooks;
  /** Peer statuses of the previous pass, by public key. */
  previous: ReadonlyMap<string, PeerStatusSpec>;
  log: Logger;
  /** Milliseconds since the epoch. */
  now: number;
  /**
   * This box's node addresses with prefix lengths (`10.0.1.2/24`), for the
   * endpoint order. @default none known
   */
  localPrefixes?: readonly string[];
}

/** What one pass produced, by resource id, for the agent to store. */
export interface MeshPassResult {
  peerspecs: Map<string, PeerSpecSpec>;
  peerstatuses: Map<string, PeerStatusSpec>;
  endpoints: Map<string, EndpointSpec>;
}

/**
 * A pass that failed part way; `partial` holds what it produced before the
 * failure (to store), `cause` the failure itself.
 */
export class MeshPassError extends Error {
  readonly partial: Partial<MeshPassResult>;
  constructor(partial: Partial<MeshPassResult>, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "MeshPassError";
    this.partial = partial;
  }
}

/** The kernel-facing part of a pass; filled in by the mesh layer. */
export interface MeshStep {
  pass(input: MeshPassInput): Promise<MeshPassResult>;
  /**
   * The WireGuard device's peers as they are now: a look, no change (empty
   * before the first pass made the link). Lets the agent check for a
   * landed handshake without a whole pass. Absent = only passes read it.
   */
  peers?(): Promise<HandshakeReading[]>;
  /** Removes everything the step created (link, routes, rules, nft table). */
  cleanup?(config: EdgespanConfig): Promise<void>;
  /** Releases sockets and child processes, leaving kernel state in place. */
  close?(): Promise<void>;
  /** Readiness checks of the step (e.g. link up). */
  checks?(): Record<string, { ok: boolean; detail: string }>;
  /** Kernel repairs of the dataplane, for `/metrics`. */
  health?(): DataplaneHealth | undefined;
}
