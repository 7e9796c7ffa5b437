/**
 * Route advertisement: the networks a box routes for the mesh.
 *
 * @module
 */
export { advertisedNetworks, routeAdvertisementPlugin } from "./plugin.ts";
