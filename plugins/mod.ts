/**
 * The built-in plugins, in the order the registry calls them.
 *
 * @module
 */
import type { AnyPluginDefinition } from "../core/plugins/types.ts";
import { endpointFilterPlugin } from "./endpoint_filter/mod.ts";
import { learnedEndpointsPlugin } from "./learned_endpoints/mod.ts";
import { endpointCyclingPlugin } from "./peer_selection/mod.ts";
import {
  endpointSearchPlugin,
  lanPreferencePlugin,
} from "./connectivity/mod.ts";
import { routeAdvertisementPlugin } from "./route_advertisement/mod.ts";
import { downPeerBypassPlugin } from "./down_peer_bypass/mod.ts";
import { discoveryStaticPlugin } from "./discovery_static/mod.ts";
import { discoveryServicePlugin } from "./discovery_service/plugin.ts";
import { discoveryServerPlugin } from "./discovery_service/embedded.ts";
import { peerRelayPlugin } from "./peer_relay/mod.ts";

export * from "./endpoint_filter/mod.ts";
export * from "./learned_endpoints/mod.ts";
export * from "./peer_selection/mod.ts";
export * from "./connectivity/mod.ts";
export * from "./route_advertisement/mod.ts";
export * from "./down_peer_bypass/mod.ts";
export * from "./peer_relay/mod.ts";

/** Every plugin compiled into the binary. */
export const BUILTIN_PLUGINS: readonly AnyPluginDefinition[] = [
  // Before endpoint-filter: peers' learned endpoints are filtered too.
  learnedEndpointsPlugin,
  endpointFilterPlugin,
  lanPreferencePlugin,
  // Before endpoint-cycling: the first running peer selection plugin decides.
  endpointSearchPlugin,
  endpointCyclingPlugin,
  routeAdvertisementPlugin,
  downPeerBypassPlugin,
  peerRelayPlugin,
  discoveryServerPlugin,
  discoveryServicePlugin,
  discoveryStaticPlugin,
];
