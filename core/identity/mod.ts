/**
 * Node identity: WireGuard key pair, node id, ULA prefix and EUI-64 address.
 *
 * @module
 */
export * from "./keys.ts";
export * from "./ula.ts";
export * from "./hardware_addr.ts";
export * from "./store.ts";
export * from "./identity.ts";
