/**
 * systemd readiness and watchdog notification (`sd_notify(3)`): datagrams
 * such as `READY=1` sent to the unix socket named by `$NOTIFY_SOCKET`.
 *
 * Deno has no unix datagram client without `--unstable-net`, so this sends
 * through libc (`socket`, `sendto`) via `libc.ts`. Without
 * `$NOTIFY_SOCKET` (not started by systemd) every call is a no-op.
 *
 * @module
 */
import { errno, libc } from "./libc.ts";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
const SUN_PATH_MAX = 108;

/** Sending the notification failed. */
export class NotifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotifyError";
  }
}

/**
 * Builds a `struct sockaddr_un` for `path`; a leading `@` names an
 * abstract socket (the `@` becomes a NUL byte, no terminator).
 */
export function unixSockaddr(path: string): Uint8Array<ArrayBuffer> {
  const abstract = path.startsWith("@");
  const name = new TextEncoder().encode(abstract ? path.slice(1) : path);
  // Abstract: a leading NUL and no terminator; path: a trailing NUL.
  const length = name.length + 1;
  if (length > SUN_PATH_MAX) {
    throw new NotifyError(
      `Cannot notify systemd: NOTIFY_SOCKET "${path}" is longer than ${
        SUN_PATH_MAX - 1
      } bytes`,
    );
  }
  const out = new Uint8Array(2 + length);
  new DataView(out.buffer).setUint16(0, AF_UNIX, true);
  out.set(name, abstract ? 3 : 2);
  return out;
}

/** Options for {@linkcode sdNotify}. */
export interface NotifyOptions {
  /** @default Deno.env.get("NOTIFY_SOCKET") */
  socket?: string;
}

/**
 * Sends `state` (e.g. `"READY=1"`, `"STOPPING=1"`, `"WATCHDOG=1"`,
 * `"STATUS=…"`, several separated by newlines). Returns false when there is
 * no notify socket; throws {@linkcode NotifyError} when sending fails.
 */
export function sdNotify(state: string, options: NotifyOptions = {}): boolean {
  const path = options.socket ?? Deno.env.get("NOTIFY_SOCKET");
  if (!path) return false;
  if (!path.startsWith("/") && !path.startsWith("@")) {
    throw new NotifyError(
      `Cannot notify systemd: NOTIFY_SOCKET "${path}" is neither an absolute path nor an abstract name`,
    );
  }
  const addr = unixSockaddr(path);
  const c = libc();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw new NotifyError(
      `Cannot notify systemd: socket() failed with errno ${errno()}`,
    );
  }
  try {
    const msg = new TextEncoder().encode(state);
    const sent = c.sendto(
      fd,
      msg,
      BigInt(msg.length),
      MSG_NOSIGNAL,
      addr,
      addr.length,
    );
    if (Number(sent) !== msg.length) {
      throw new NotifyError(
        `Cannot notify systemd at "${path}": sendto() failed with errno ${errno()}`,
      );
    }
  } finally {
    c.close(fd);
  }
  return true;
}

/**
 * The watchdog interval systemd asked for (`$WATCHDOG_USEC`), in ms, or
 * undefined when the watchdog is off or meant for another process.
 */
export function watchdogIntervalMs(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  pid: number = Deno.pid,
): number | undefined {
  const usec = Number(env("WATCHDOG_USEC"));
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  const forPid = env("WATCHDOG_PID");
  if (forPid && Number(forPid) !== pid) return undefined;
  return usec / 1000;
}

/** Options for {@linkcode startWatchdog}. */
export interface WatchdogOptions extends NotifyOptions {
  /** Interval systemd expects. @default watchdogIntervalMs() */
  intervalMs?: number;
  /** Pings only while this returns true (e.g. the reconcile loop is alive). @default always */
  healthy?: () => boolean;
}

/**
 * Sends `WATCHDOG=1` at half the interval systemd expects. Returns the stop
 * function; does nothing when no watchdog is configured.
 */
export function startWatchdog(options: WatchdogOptions = {}): () => void {
  const interval = options.intervalMs ?? watchdogIntervalMs();
  if (!interval) return () => {};
  const timer = setInterval(() => {
    if (options.healthy && !options.healthy()) return;
    try {
      sdNotify("WATCHDOG=1", options);
    } catch {
      // A missed ping is what the watchdog is for; keep running.
    }
  }, Math.max(50, interval / 2));
  return () => clearInterval(timer);
}
