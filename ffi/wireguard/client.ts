/**
 * A wgctrl-shaped facade over the WireGuard backends. `openWireGuard()`
 * picks the kernel backend (generic netlink) when asked or when the kernel
 * has WireGuard, and wireguard-go's UAPI otherwise; callers see one
 * {@linkcode WgBackend} either way.
 *
 * @module
 */
import { NotFoundError } from "../netlink/errors.ts";
import { KernelWireGuard } from "./kernel.ts";
import { UserspaceWireGuard } from "./uapi.ts";
import type { WgBackend, WgDevice, WgDeviceConfig } from "./types.ts";

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
  /** UAPI socket directory. @default "/var/run/wireguard" */
  socketDir?: string;
}

/**
 * Several backends behind one interface: a device is served by the first
 * backend that does not answer "not found", as in wgctrl.
 */
export class WireGuardClient implements WgBackend {
  readonly #backends: WgBackend[];

  /** A client trying `backends` in order; TypeError when empty. */
  constructor(backends: WgBackend[]) {
    if (backends.length === 0) {
      throw new TypeError("Cannot create a WireGuard client: no backends");
    }
    this.#backends = backends;
  }

  /** The kind of the preferred (first) backend. */
  get kind(): "kernel" | "userspace" {
    return this.#backends[0]!.kind;
  }

  async #first<T>(fn: (b: WgBackend) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const b of this.#backends) {
      try {
        return await fn(b);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        last = err;
      }
    }
    throw last;
  }

  /** Reads a device from whichever backend owns it. */
  device(name: string): Promise<WgDevice> {
    return this.#first((b) => b.device(name));
  }

  /** Configures a device on whichever backend owns it. */
  configure(name: string, config: WgDeviceConfig): Promise<void> {
    return this.#first((b) => b.configure(name, config));
  }

  /** Closes every backend. */
  close(): void {
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
  const user = new UserspaceWireGuard(
    options.socketDir === undefined ? {} : { socketDir: options.socketDir },
  );
  if (choice === "userspace") return new WireGuardClient([user]);
  let kernel: KernelWireGuard;
  try {
    kernel = await KernelWireGuard.open(
      options.netns === undefined ? {} : { netns: options.netns },
    );
  } catch (err) {
    if (choice === "auto" && err instanceof NotFoundError) {
      return new WireGuardClient([user]);
    }
    throw err;
  }
  return new WireGuardClient(choice === "kernel" ? [kernel] : [kernel, user]);
}
