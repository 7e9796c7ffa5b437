/**
 * WireGuard control over two backends — the kernel's `wireguard` generic
 * netlink family and wireguard-go's UAPI socket — behind one
 * {@linkcode WgBackend} interface (the `openWireGuard` facade), plus the
 * wireguard-go supervisor, one per interface.
 *
 * @module
 */
export type * from "./types.ts";
export {
  ExistsError,
  NetlinkError,
  NotFoundError,
  PermissionError,
} from "../netlink/errors.ts";
export { KernelWireGuard, type KernelWireGuardOptions } from "./kernel.ts";
export {
  derivePublicKey,
  probeSocket,
  socketPath,
  type SocketState,
  UAPI_DIR,
  UserspaceWireGuard,
  type UserspaceWireGuardOptions,
} from "./uapi.ts";
export {
  encodeSet,
  hexToKey,
  keyToHex,
  parseGetReply,
  parseSetReply,
  type UapiDeviceReply,
  uapiError,
} from "./uapi_codec.ts";
export {
  type BackoffOptions,
  findWireGuardGo,
  restartDelay,
  WireGuardGo,
  type WireGuardGoOptions,
  type WireGuardGoState,
  type WireGuardGoStatus,
} from "./wireguard_go.ts";
export {
  initialSupervisor,
  superviseStep,
  type SupervisorAction,
  type SupervisorEvent,
  type SupervisorModel,
  type SupervisorOptions,
  type SupervisorState,
  type SupervisorStep,
} from "./supervisor.ts";
export {
  openWireGuard,
  type OpenWireGuardOptions,
  type WgBackendChoice,
  WireGuardClient,
  type WireGuardClientOptions,
} from "./client.ts";
export {
  type Supervisor,
  type WireGuardGoCheck,
  WireGuardGoDaemons,
  type WireGuardGoDaemonsOptions,
  type WireGuardGoEvent,
} from "./daemons.ts";
export {
  createInterface,
  type CreateInterfaceOptions,
  type WgInterface,
} from "./interface.ts";
