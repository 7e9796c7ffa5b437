/**
 * KubeSpan's endpoint cycling: the next endpoint to try for a peer that is
 * not up, from its status, spec and the time.
 *
 * @module
 */
import type {
  PeerSpecSpec,
  PeerStatusSpec,
} from "../../core/resources/specs.ts";

/**
 * KubeSpan's endpoint choice. A new endpoint is picked only when the peer is
 * down or none was ever picked: the first one at first, then the one after
 * the last used (wrapping; a last endpoint no longer listed restarts at the
 * first). A single endpoint that is already in use is kept.
 */
export function nextEndpoint(
  status: Pick<PeerStatusSpec, "state" | "lastUsedEndpoint" | "endpoint">,
  spec: Pick<PeerSpecSpec, "endpoints">,
): string | undefined {
  const endpoints = spec.endpoints;
  if (endpoints.length === 0) return undefined;
  if (status.state !== "down" && status.lastUsedEndpoint !== "") {
    return undefined;
  }
  if (status.lastUsedEndpoint === "") return endpoints[0];
  if (
    endpoints.length === 1 && endpoints[0] === status.lastUsedEndpoint &&
    status.endpoint === status.lastUsedEndpoint
  ) {
    return undefined;
  }
  const index = endpoints.indexOf(status.lastUsedEndpoint);
  return endpoints[(index + 1) % endpoints.length];
}
