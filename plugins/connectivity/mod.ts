/**
 * Connectivity behind NAT: LAN preference (endpoint order by locality),
 * faster endpoint search coordinated with the peer's (simultaneous open)
 * and honest peer state.
 *
 * @module
 */
export {
  endpointLocality,
  type Locality,
  orderByLocality,
} from "./locality.ts";
export {
  alignedSearch,
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
export { parseSearchOptions } from "./options.ts";
export { endpointSearchPlugin, lanPreferencePlugin } from "./plugin.ts";
