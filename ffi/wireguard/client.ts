/**
 * A wgctrl-shaped facade over the WireGuard backends. `openWireGuard()`
 * picks the kernel backend (generic netlink) when asked or when the kernel
 * has WireGuard, and wireguard-go's UAPI otherwise; callers see one
 * {@linkcode WgBackend} either way. With a userspace backend the client
 * also runs the wireguard-go processes, one per interface (see
 * `daemons.ts`).
 *
 * @module
 */
import type { NetlinkConn } from "../netlink/conn.ts";
import { NotFoundError } from "../netlink/errors.ts";
import {
  type WireGuardGoCheck,
  WireGuardGoDaemons,
  type WireGuardGoDaemonsOptions,
} from "./daemons.ts";
import { KernelWireGuard } from "./kernel.ts";
import { UserspaceWireGuard } from "./uapi.ts";
import type { WgBackend, WgDevice, WgDeviceConfig } from "./types.ts";
import type { WireGuardGoStatus } from "./wireguard_go.ts";

/** Which backend to use. */
export type WgBackendChoice = "auto" | "kernel" | "userspace";

/** Options of {@linkcode openWireGuard}. */
export interface OpenWireGuardOptions {
  /**
   * `kernel` fails when the kernel has no WireGuard; `auto` then falls back
   * to wireguard-go. @default "auto"
   */
  backend?: WgBackendChoice;
  /** Netns for the kernel backend's socket; absent = the caller's. */
  netns?: string;
  /** A connection for the kernel backend instead of a new socket (tests). */
  conn?: NetlinkConn;
  /** UAPI socket directory. @default "/var/run/wireguard" */
  socketDir?: string;
  /** With `auto`: told why the kernel backend is not used. */
  onFallback?: (reason: string) => void;
  /** How wireguard-go is run and watched (userspace backend). */
  wireguardGo?: Omit<WireGuardGoDaemonsOptions, "socketDir">;
}

/** Options of {@linkcode WireGuardClient}. */
export interface WireGuardClientOptions {
  /** Runs wireguard-go; without it the client starts no process. */
  daemons?: WireGuardGoDaemons;
}

/**
 * Several backends behind one interface: a device is served by the first
 * backend that does not answer "not found", as in wgctrl.
 */
export class WireGuardClient implements WgBackend {
  readonly #backends: WgBackend[];
  readonly #daemons: WireGuardGoDaemons | undefined;

  /** A client trying `backends` in order; TypeError when empty. */
  constructor(backends: WgBackend[], options: WireGuardClientOptions = {}) {
    if (backends.length === 0) {
      throw new TypeError("Cannot create a WireGuard client: no backends");
    }
    this.#backends = backends;
    this.#daemons = options.daemons;
  }

  /** The kind of the preferred (first) backend. */
  get kind(): "kernel" | "userspace" {
    return this.#backends[0]!.kind;
  }

  /** Tries each backend; when all say "not found", the preferred one's error. */
  async #first<T>(fn: (b: WgBackend) => Promise<T>): Promise<T> {
    let first: unknown;
    for (const b of this.#backends) {
      try {
        return await fn(b);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        first ??= err;
      }
    }
    throw first;
  }

  /** Reads a device from whichever backend owns it. */
  device(name: string): Promise<WgDevice> {
    return this.#first((b) => b.device(name));
  }

  /** Configures a device on whichever backend owns it. */
  configure(name: string, config: WgDeviceConfig): Promise<void> {
    return this.#first((b) => b.configure(name, config));
  }

  #wireGuardGo(operation: string): WireGuardGoDaemons {
    if (!this.#daemons) {
      throw new TypeError(
        `Cannot ${operation}: this WireGuard client has no userspace backend; open it with backend "userspace" or "auto"`,
      );
    }
    return this.#daemons;
  }

  /** What wireguard-go serves interface `name` (see {@linkcode WireGuardGoDaemons.check}). */
  checkWireGuardGo(name: string): Promise<WireGuardGoCheck> {
    return this.#wireGuardGo(`check wireguard-go for "${name}"`).check(name);
  }

  /** Starts a supervised wireguard-go for `name`; resolves once it serves. */
  startWireGuardGo(name: string): Promise<WireGuardGoStatus> {
    return this.#wireGuardGo(`start wireguard-go for "${name}"`).start(name);
  }

  /** Our supervised wireguard-go's status; undefined when we run none. */
  wireGuardGoStatus(name: string): WireGuardGoStatus | undefined {
    return this.#daemons?.status(name);
  }

  /** Stops our wireguard-go for `name` and forgets an adopted one. */
  async stopWireGuardGo(name: string): Promise<void> {
    await this.#daemons?.stop(name);
  }

  /** Closes every backend; supervised wireguard-go processes keep running. */
  close(): void {
    this.#daemons?.close();
    for (const b of this.#backends) b.close();
  }
}

/**
 * Opens WireGuard control. With `auto`, a kernel without the `wireguard`
 * generic netlink family gives a userspace-only client.
 */
export async function openWireGuard(
  options: OpenWireGuardOptions = {},
): Promise<WireGuardClient> {
  const choice = options.backend ?? "auto";
  const dir = options.socketDir === undefined
    ? {}
    : { socketDir: options.socketDir };
  const user = new UserspaceWireGuard(dir);
  const daemons = () =>
    new WireGuardGoDaemons({ ...options.wireguardGo, ...dir });
  const userOnly = () => new WireGuardClient([user], { daemons: daemons() });
  if (choice === "userspace") {
    options.conn?.close();
    return userOnly();
  }
  let kernel: KernelWireGuard;
  try {
    kernel = await KernelWireGuard.open({
      ...(options.netns === undefined ? {} : { netns: options.netns }),
      ...(options.conn === undefined ? {} : { conn: options.conn }),
    });
  } catch (err) {
    if (choice === "auto" && err instanceof NotFoundError) {
      options.onFallback?.(err.message);
      return userOnly();
    }
    throw err;
  }
  return choice === "kernel"
    ? new WireGuardClient([kernel])
    : new WireGuardClient([kernel, user], { daemons: daemons() });
}
