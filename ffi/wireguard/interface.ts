/**
 * Brings a WireGuard interface into existence for either backend, so the
 * agent does not care which one it got: a kernel `wireguard` link created
 * over rtnetlink, or a supervised wireguard-go (a TUN) whose UAPI socket is
 * ready. Addresses, routes and link state are then set over rtnetlink alike.
 *
 * @module
 */
import { NotFoundError } from "../netlink/errors.ts";
import { RtNetlink } from "../rtnetlink/rtnetlink.ts";
import {
  WireGuardGo,
  type WireGuardGoOptions,
  type WireGuardGoStatus,
} from "./wireguard_go.ts";

/** A WireGuard interface brought up by {@linkcode createInterface}. */
export interface WgInterface {
  /** The interface name. */
  readonly name: string;
  /** Which backend serves it. */
  readonly kind: "kernel" | "userspace";
  /** wireguard-go's status; undefined for a kernel interface. */
  status(): WireGuardGoStatus | undefined;
  /**
   * Removes what was created: deletes a kernel link this call made (a link
   * that already existed is left), or stops wireguard-go.
   */
  close(): Promise<void>;
}

/** Options of {@linkcode createInterface}. */
export interface CreateInterfaceOptions {
  /** Netns for the kernel link; absent = the caller's. */
  netns?: string;
  /** How to run wireguard-go for a userspace interface. */
  wireguardGo?: WireGuardGoOptions;
}

/**
 * Creates (or adopts) the interface `name` for a backend `kind`, usually
 * `openWireGuard().kind`.
 */
export async function createInterface(
  kind: "kernel" | "userspace",
  name: string,
  options: CreateInterfaceOptions = {},
): Promise<WgInterface> {
  if (kind === "userspace") {
    const proc = await WireGuardGo.start(name, options.wireguardGo ?? {});
    return {
      name,
      kind,
      status: () => proc.status,
      close: () => proc.stop(),
    };
  }
  const nsOpt = options.netns === undefined ? {} : { netns: options.netns };
  const rt = await RtNetlink.open(nsOpt);
  let created = false;
  try {
    const existing = await rt.link(name).catch((err) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (existing && existing.kind !== "wireguard") {
      throw new TypeError(
        `Cannot use link "${name}" for WireGuard: it is of kind "${existing.kind}"; delete or rename it`,
      );
    }
    if (!existing) {
      await rt.createLink(name, "wireguard");
      created = true;
    }
  } finally {
    rt.close();
  }
  return {
    name,
    kind,
    status: () => undefined,
    close: async () => {
      if (!created) return;
      const r = await RtNetlink.open(nsOpt);
      try {
        await r.deleteLink(name);
      } finally {
        r.close();
      }
    },
  };
}
