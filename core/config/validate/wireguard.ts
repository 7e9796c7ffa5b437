/**
 * The `wireguard` section: backend, link name and listen port.
 *
 * @module
 */
import { DEFAULT_LISTEN_PORT, type WireGuardConfig } from "../types.ts";
import type { Reader } from "../reader.ts";

const KEYS = ["backend", "interface", "listenPort"] as const;

/** What Linux accepts as a link name (IFNAMSIZ is 16 with the NUL). */
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** Reads `wireguard`. */
export function readWireGuard(r: Reader, raw: unknown): WireGuardConfig {
  const wg = r.map(raw, "wireguard", KEYS);
  const backend = r.oneOf(
    wg.backend,
    "wireguard.backend",
    ["auto", "kernel", "userspace"] as const,
    "auto",
  );
  const iface = r.string(wg.interface, "wireguard.interface", "kubespan");
  if (!INTERFACE_NAME.test(iface)) {
    r.report(
      "wireguard.interface",
      `"${iface}" is not a valid link name (1-15 letters, digits, "_", "-", ".")`,
    );
  }
  const listenPort = r.int(
    wg.listenPort,
    "wireguard.listenPort",
    DEFAULT_LISTEN_PORT,
    { min: 1, max: 65535 },
  );
  return { backend, interface: iface, listenPort };
}
