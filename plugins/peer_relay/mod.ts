/**
 * Relays for pairs that cannot meet: ciphertext-only UDP forwarding through
 * a box the site marks as a relay, chosen the same way by both ends.
 *
 * @module
 */
export {
  ANSWER_FRESH_MS,
  chooseRelay,
  fnv1a,
  hostPort,
  pairKey,
  preferredRelay,
  rankRelays,
  type RelayAnswer,
  type RelayChoice,
  type RelayView,
  usableRelays,
} from "./choice.ts";
export {
  type Allocation,
  type JoinAnswer,
  parsePortRange,
  type RelayLimits,
  RelayTable,
} from "./table.ts";
export {
  ByteBucket,
  type Leg,
  type LegAction,
  plainHost,
  routeDatagram,
  type UdpAddress,
} from "./legs.ts";
export {
  PATH_TIMERS,
  type PathInput,
  type PathStep,
  type PathTimers,
  type PeerPath,
  SESSION_MS,
  stepPath,
} from "./path.ts";
export { decodeMessage, encodeMessage, PROTOCOL_VERSION } from "./protocol.ts";
export {
  parseRelayOptions,
  RELAY_DEFAULTS,
  type RelayOptions,
} from "./options.ts";
export {
  countRefusal,
  type PairLive,
  type RefusalKind,
  refusalKind,
  relayPairRows,
} from "./served.ts";
export { peerRelayPlugin } from "./plugin.ts";
