/**
 * The `endpoint-cycling` peer selection plugin.
 *
 * @module
 */
import { definePlugin } from "../../core/plugins/types.ts";
import { nextEndpoint } from "./endpoint_cycling.ts";

/** Cycles through a peer's endpoints in list order until a handshake succeeds. */
export const endpointCyclingPlugin = definePlugin({
  name: "endpoint-cycling",
  hooks: ["peerSelection"],
  version: "1.0.0",
  description:
    "Tries a down peer's endpoints in advertised order, one per reconcile",
  defaultEnabled: true,
  create() {
    return {
      peerSelection: {
        nextEndpoint: (status, spec) => nextEndpoint(status, spec),
      },
    };
  },
});
