/**
 * Static discovery: peers listed in the site config.
 *
 * @module
 */
export { discoveryStaticPlugin, staticAffiliate } from "./plugin.ts";
export {
  parseStaticOptions,
  type StaticDiscoveryOptions,
  type StaticPeer,
} from "./options.ts";
