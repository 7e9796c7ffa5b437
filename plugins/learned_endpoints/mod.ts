/**
 * Learned UDP mappings (issue #13): observed and harvested endpoints as
 * candidates, with aging.
 *
 * @module
 */
export {
  LEARNED_AGE_OUT_MS,
  learnedCandidates,
  type LearnedInput,
  type LearnedResult,
} from "./learned.ts";
export {
  ENDPOINTS_PER_AFFILIATE,
  SELF_MAPPINGS_MAX,
  type SelfMappingInput,
  type SelfMappingResult,
  selfMappings,
} from "./self_mapping.ts";
export { learnedEndpointsPlugin } from "./plugin.ts";
