/**
 * Exactly one wireguard-go per interface: the supervisor we started (see
 * `wireguard_go.ts`; while it starts, runs or waits to restart no other is
 * made), or a process found serving the interface (adopted, e.g. left by an
 * agent that crashed). An adopted process cannot be waited on, so it is
 * probed over its UAPI socket and its death reported; a killed one leaves a
 * socket file nobody listens on (`stale`), told apart from a live one by
 * connecting.
 *
 * The caller decides what a finding means (a repair, a retry); this module
 * only keeps the per-interface facts and carries out start and stop.
 *
 * @module
 */
import { probeSocket, socketPath, type SocketState, UAPI_DIR } from "./uapi.ts";
import {
  WireGuardGo,
  type WireGuardGoOptions,
  type WireGuardGoStatus,
} from "./wireguard_go.ts";

/** What serves an interface, as {@linkcode WireGuardGoDaemons.check} found it. */
export type WireGuardGoCheck =
  /** Our supervisor owns it; `status.state` is `running`, `starting` or `backoff`. */
  | { kind: "supervised"; status: WireGuardGoStatus }
  /** A wireguard-go we did not start serves it; `newly` on the first sight. */
  | { kind: "adopted"; newly: boolean }
  /**
   * Nothing serves it. `lost` tells what is left of an adopted process
   * that died: no socket (`absent`) or a socket file nobody listens on
   * (`stale`, removed by the next start).
   */
  | { kind: "none"; lost?: Exclude<SocketState, "alive"> };

/** Something that happened between calls. */
export type WireGuardGoEvent =
  /** Our supervisor restarted wireguard-go: the device is unconfigured and down. */
  | { kind: "restarted"; interface: string; lastError: string }
  /** An adopted wireguard-go stopped answering on its socket. */
  | { kind: "adoptedGone"; interface: string };

/** The part of a supervisor used here (see {@linkcode WireGuardGo}). */
export interface Supervisor {
  readonly active: boolean;
  readonly status: WireGuardGoStatus;
  stop(): Promise<void>;
}

/** Options of {@linkcode WireGuardGoDaemons}. */
export interface WireGuardGoDaemonsOptions {
  /** The wireguard-go binary. @default "wireguard-go" */
  binary?: string;
  /** UAPI socket directory. @default "/var/run/wireguard" */
  socketDir?: string;
  /** How often an adopted process is probed. @default 1000 */
  adoptedCheckMs?: number;
  /** Told of restarts and of adopted processes that died. */
  onEvent?: (event: WireGuardGoEvent) => void;
  /** Probes an interface's socket. For tests. @default probeSocket */
  probe?: (name: string) => Promise<SocketState>;
  /** Starts a supervisor. For tests. @default WireGuardGo.start */
  start?: (name: string, options: WireGuardGoOptions) => Promise<Supervisor>;
}

interface Served {
  daemon: Supervisor | undefined;
  adopted: boolean;
  watch: ReturnType<typeof setInterval> | undefined;
}

/** The wireguard-go processes of every interface, one each. */
export class WireGuardGoDaemons {
  readonly #opts: WireGuardGoDaemonsOptions;
  readonly #probe: (name: string) => Promise<SocketState>;
  readonly #start: (
    name: string,
    options: WireGuardGoOptions,
  ) => Promise<Supervisor>;
  readonly #served = new Map<string, Served>();

  /** Daemons started and probed as `options` says. */
  constructor(options: WireGuardGoDaemonsOptions = {}) {
    this.#opts = options;
    const dir = options.socketDir ?? UAPI_DIR;
    this.#probe = options.probe ??
      ((name) => probeSocket(socketPath(name, dir)));
    this.#start = options.start ??
      ((name, o) => WireGuardGo.start(name, o));
  }

  #get(name: string): Served {
    let s = this.#served.get(name);
    if (!s) {
      s = { daemon: undefined, adopted: false, watch: undefined };
      this.#served.set(name, s);
    }
    return s;
  }

  /**
   * What serves `name` now. The first sight of a live process we did not
   * start adopts it and starts probing it; an adopted process found gone
   * is forgotten (reported once, as `lost`).
   */
  async check(name: string): Promise<WireGuardGoCheck> {
    const s = this.#get(name);
    if (s.daemon?.active) {
      return { kind: "supervised", status: s.daemon.status };
    }
    const socket = await this.#probe(name);
    if (socket === "alive") {
      const newly = !s.adopted && s.daemon === undefined;
      if (newly) this.#watch(name, s);
      s.adopted = true;
      return { kind: "adopted", newly };
    }
    this.#unwatch(s);
    const lost = s.adopted ? socket : undefined;
    s.adopted = false;
    return lost === undefined ? { kind: "none" } : { kind: "none", lost };
  }

  /**
   * Starts and supervises wireguard-go for `name` (a live process there
   * is replaced, a stale socket removed). Refuses while our supervisor
   * for `name` is active: two would take turns replacing each other.
   */
  async start(name: string): Promise<WireGuardGoStatus> {
    const s = this.#get(name);
    if (s.daemon?.active) {
      throw new Error(
        `Cannot start wireguard-go for "${name}": it is already supervised (${s.daemon.status.state}); stop it first`,
      );
    }
    this.#unwatch(s);
    s.adopted = false;
    const daemon = await this.#start(name, {
      ...(this.#opts.binary === undefined ? {} : { binary: this.#opts.binary }),
      ...(this.#opts.socketDir === undefined
        ? {}
        : { socketDir: this.#opts.socketDir }),
      onRestart: () =>
        this.#opts.onEvent?.({
          kind: "restarted",
          interface: name,
          lastError: s.daemon?.status.lastError ?? "",
        }),
    });
    s.daemon = daemon;
    return daemon.status;
  }

  /** Our supervisor's status for `name`; undefined when we run none. */
  status(name: string): WireGuardGoStatus | undefined {
    return this.#served.get(name)?.daemon?.status;
  }

  /** Stops our wireguard-go for `name` (if any) and forgets an adopted one. */
  async stop(name: string): Promise<void> {
    const s = this.#served.get(name);
    if (!s) return;
    this.#served.delete(name);
    this.#unwatch(s);
    await s.daemon?.stop();
  }

  /** Stops probing adopted processes; supervised ones keep running. */
  close(): void {
    for (const s of this.#served.values()) this.#unwatch(s);
  }

  #watch(name: string, s: Served): void {
    this.#unwatch(s);
    let probing = false;
    const id = setInterval(async () => {
      if (probing) return;
      probing = true;
      try {
        if ((await this.#probe(name)) !== "alive") {
          this.#unwatch(s);
          this.#opts.onEvent?.({ kind: "adoptedGone", interface: name });
        }
      } catch {
        // the next check looks again
      } finally {
        probing = false;
      }
    }, this.#opts.adoptedCheckMs ?? 1000);
    Deno.unrefTimer(id);
    s.watch = id;
  }

  #unwatch(s: Served): void {
    clearInterval(s.watch);
    s.watch = undefined;
  }
}
