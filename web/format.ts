/**
 * Neutral formatters shared by the faces: the CLI's tables and the
 * dashboard (bundled for the browser, so this file imports nothing).
 *
 * @module
 */

/** `1536` → `1.5 KiB`; below 1 KiB (or not finite) as `n B`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = n;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** Age of an RFC 3339 time relative to `now`: `42s`, `3m10s`, `2h5m`, `4d`; `never` for empty. */
export function formatAge(time: string, now: number): string {
  if (!time) return "never";
  const then = Date.parse(time);
  if (Number.isNaN(then)) return time;
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""}`;
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h${
      Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ""
    }`;
  }
  return `${Math.floor(s / 86400)}d`;
}

/** The fields of a peer status that {@linkcode peerReason} reads. */
export interface PeerReasonInput {
  state: string;
  lastHandshakeTime: string;
  lastEndpointChange: string;
  /** A peer selection plugin's reason, when it gave one. */
  reason?: string | undefined;
}

/**
 * Why a peer is not up, in words (empty for an up peer): the plugin's
 * reason or the handshake age, then when the endpoint last changed.
 */
export function peerReason(peer: PeerReasonInput, now: number): string {
  if (peer.state === "up") return "";
  const parts = [
    peer.reason
      ? peer.reason
      : peer.lastHandshakeTime
      ? `no handshake for ${formatAge(peer.lastHandshakeTime, now)}`
      : "never had a handshake",
  ];
  if (peer.lastEndpointChange) {
    parts.push(
      `endpoint last changed ${formatAge(peer.lastEndpointChange, now)} ago`,
    );
  }
  return parts.join("; ");
}
