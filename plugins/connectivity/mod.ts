/**
 * Connectivity behind NAT: LAN preference (endpoint order by locality),
 * faster endpoint search and honest peer state.
 *
 * @module
 */
export {
  endpointLocality,
  type Locality,
  orderByLocality,
} from "./locality.ts";
export {
  holdsSwitch,
  nextWake,
  type ReceiveProgress,
  receiveProgress,
  scheduledEndpoint,
  SEARCH_TIMERS,
  searchedState,
  type SearchState,
  searchState,
  type SearchTimers,
  searchVerdict,
} from "./search.ts";
export { endpointSearchPlugin, lanPreferencePlugin } from "./plugin.ts";
