/**
 * Starts and supervises `wireguard-go` for one interface: runs it in the
 * foreground (`WG_PROCESS_FOREGROUND=1`) so it can be stopped by pid, waits
 * for its UAPI socket, restarts it with backoff when it exits unexpectedly,
 * and reports its status.
 *
 * A restarted wireguard-go comes back unconfigured; pass `onRestart` to
 * re-apply the device configuration. The decisions (when to start, how long
 * to back off, what to ignore) are the pure machine of `supervisor.ts`; this
 * class carries out its actions. Run one supervisor per interface: a second
 * one would replace the first one's process, and they would take turns.
 *
 * @module
 */
import { probeSocket, socketPath, UAPI_DIR } from "./uapi.ts";
import {
  type BackoffOptions,
  initialSupervisor,
  restartDelay,
  superviseStep,
  type SupervisorAction,
  type SupervisorEvent,
  type SupervisorModel,
  type SupervisorOptions,
  type SupervisorState,
} from "./supervisor.ts";

export { type BackoffOptions, restartDelay };

/** Lifecycle of a supervised wireguard-go. */
export type WireGuardGoState = SupervisorState;

/** A status snapshot. */
export interface WireGuardGoStatus {
  /** The interface wireguard-go serves. */
  interface: string;
  /** Where the supervisor is in the lifecycle. */
  state: WireGuardGoState;
  /** Pid of the current process, 0 when none runs. */
  pid: number;
  /** Restarts after unexpected exits so far. */
  restarts: number;
  /** Why the last process ended or failed to start ("" when none did). */
  lastError: string;
  /** In `backoff`: ms until the next start attempt; else 0. */
  retryInMs: number;
}

/** Options of {@linkcode WireGuardGo.start}. */
export interface WireGuardGoOptions {
  /** The wireguard-go binary. @default "wireguard-go" */
  binary?: string;
  /**
   * Run inside this netns via `ip netns exec` — for tests only; the agent
   * starts wireguard-go in its own netns.
   */
  testNetns?: string;
  /** UAPI socket directory. @default "/var/run/wireguard" */
  socketDir?: string;
  /** How long to wait for the socket. @default 5000 */
  startTimeoutMs?: number;
  /** First restart delay. @default 200 */
  backoffMinMs?: number;
  /** Largest restart delay. @default 30000 */
  backoffMaxMs?: number;
  /** Called after each successful restart (re-apply the config here). */
  onRestart?: () => void | Promise<void>;
  /**
   * A wireguard-go already serving this interface (e.g. left by an agent
   * that crashed) is stopped and replaced (`replace`), or makes `start`
   * fail (`fail`). Interface names are host-wide, so it cannot belong to
   * anyone else. A socket file nobody listens on is removed. @default "replace"
   */
  stale?: "replace" | "fail";
  /** Clock for the backoff, in ms. @default Date.now */
  now?: () => number;
}

/**
 * Pids of running `wireguard-go [flags] <ifname>` processes, found by
 * their command lines in `/proc`.
 */
export async function findWireGuardGo(ifname: string): Promise<number[]> {
  const pids: number[] = [];
  const dec = new TextDecoder();
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    let argv: string[];
    try {
      argv = dec.decode(await Deno.readFile(`/proc/${e.name}/cmdline`))
        .split("\0").filter((a) => a !== "");
    } catch {
      continue; // exited meanwhile
    }
    const bin = argv[0]?.split("/").at(-1);
    if (bin === "wireguard-go" && argv.at(-1) === ifname && argv.length > 1) {
      pids.push(Number(e.name));
    }
  }
  return pids;
}

async function gone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      await Deno.stat(`/proc/${pid}`);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/** A supervised wireguard-go process: one per interface, driven by {@linkcode superviseStep}. */
export class WireGuardGo {
  readonly #ifname: string;
  readonly #opts: WireGuardGoOptions;
  readonly #now: () => number;
  #model: SupervisorModel = initialSupervisor();
  #child: Deno.ChildProcess | undefined;
  #stderr = "";
  #timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(ifname: string, opts: WireGuardGoOptions) {
    this.#ifname = ifname;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Starts wireguard-go for `ifname` and resolves once its UAPI socket
   * accepts connections. Throws when it exits or times out first.
   */
  static async start(
    ifname: string,
    options: WireGuardGoOptions = {},
  ): Promise<WireGuardGo> {
    const w = new WireGuardGo(ifname, options);
    const error = await w.#spawn();
    if (error !== undefined) throw error;
    return w;
  }

  /** The current status. */
  get status(): WireGuardGoStatus {
    const m = this.#model;
    return {
      interface: this.#ifname,
      state: m.state,
      pid: this.#child?.pid ?? 0,
      restarts: m.restarts,
      lastError: m.lastError,
      retryInMs: m.state === "backoff"
        ? Math.max(0, m.retryAt - this.#now())
        : 0,
    };
  }

  /**
   * Whether this supervisor still owns the interface: starting, running or
   * waiting to restart. Start no other supervisor for it while this holds.
   */
  get active(): boolean {
    const s = this.#model.state;
    return s === "starting" || s === "running" || s === "backoff";
  }

  #dispatch(event: SupervisorEvent): void {
    const options: SupervisorOptions = {};
    if (this.#opts.backoffMinMs !== undefined) {
      options.backoffMinMs = this.#opts.backoffMinMs;
    }
    if (this.#opts.backoffMaxMs !== undefined) {
      options.backoffMaxMs = this.#opts.backoffMaxMs;
    }
    const step = superviseStep(this.#model, event, options);
    this.#model = step.model;
    for (const a of step.actions) this.#act(a);
  }

  #act(a: SupervisorAction): void {
    switch (a.kind) {
      case "spawn":
        void this.#spawn();
        return;
      case "schedule":
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#dispatch({ kind: "timer", at: this.#now() });
        }, a.delayMs);
        return;
      case "cancelTimer":
        clearTimeout(this.#timer);
        this.#timer = undefined;
        return;
      case "terminate":
        if (this.#child) this.#kill(this.#child.pid, "SIGTERM");
        return;
      case "restarted":
        void (async () => {
          try {
            await this.#opts.onRestart?.();
          } catch {
            // the next reconcile pass configures the device anyway
          }
        })();
        return;
    }
  }

  /** Clears the socket path; throws when a live wireguard-go must stay. */
  async #clearSocket(path: string): Promise<void> {
    const state = await probeSocket(path);
    if (state === "absent") return;
    if (state === "stale") {
      // left by a wireguard-go that was killed: nobody listens
      await Deno.remove(path).catch(() => {});
      return;
    }
    const pids = await findWireGuardGo(this.#ifname);
    if (this.#opts.stale === "fail" || pids.length === 0) {
      throw new Error(
        `Cannot start wireguard-go for "${this.#ifname}": "${path}" is already served${
          pids.length ? ` by pid ${pids.join(", ")}` : ""
        }; stop that process first`,
      );
    }
    for (const pid of pids) {
      this.#kill(pid, "SIGTERM");
      if (!(await gone(pid, 3000))) this.#kill(pid, "SIGKILL");
    }
  }

  /**
   * Starts one process and reports `ready` or `spawnFailed` to the
   * machine; returns the error of a failed start.
   */
  async #spawn(): Promise<Error | undefined> {
    try {
      await this.#run();
      this.#dispatch({ kind: "ready", at: this.#now() });
      return undefined;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.#dispatch({
        kind: "spawnFailed",
        at: this.#now(),
        error: error.message,
      });
      return error;
    }
  }

  async #run(): Promise<void> {
    const path = socketPath(this.#ifname, this.#opts.socketDir ?? UAPI_DIR);
    await this.#clearSocket(path);
    const bin = this.#opts.binary ?? "wireguard-go";
    const [cmd, args] = this.#opts.testNetns === undefined
      ? [bin, [this.#ifname]]
      : ["ip", ["netns", "exec", this.#opts.testNetns, bin, this.#ifname]];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(cmd, {
        args,
        env: { WG_PROCESS_FOREGROUND: "1" },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      throw new Error(
        `Cannot start wireguard-go for "${this.#ifname}": cannot run "${cmd}": ${err}; install wireguard-go`,
        { cause: err },
      );
    }
    this.#child = child;
    this.#stderr = "";
    this.#drain(child.stderr);
    let exited = false;
    child.status.then((s) => {
      exited = true;
      this.#onExit(child, s);
    });
    const timeoutMs = this.#opts.startTimeoutMs ?? 5000;
    const deadline = Date.now() + timeoutMs;
    while (!exited && Date.now() < deadline) {
      if ((await probeSocket(path)) === "alive") return;
      await new Promise((r) => setTimeout(r, 5));
    }
    const why = exited
      ? `exited early: ${this.#stderr.trim().split("\n").at(-1) ?? ""}`
      : `no socket at "${path}" after ${timeoutMs} ms`;
    if (!exited) this.#kill(child.pid, "SIGKILL");
    throw new Error(
      `Cannot start wireguard-go for "${this.#ifname}": ${why}; check that wireguard-go is installed and /dev/net/tun exists`,
    );
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    try {
      for await (const chunk of stream) {
        this.#stderr = (this.#stderr + dec.decode(chunk)).slice(-4000);
      }
    } catch {
      // the process is gone
    }
  }

  #onExit(child: Deno.ChildProcess, s: Deno.CommandStatus): void {
    if (child !== this.#child) return;
    const tail = this.#stderr.trim().split("\n").at(-1) ?? "";
    this.#dispatch({
      kind: "exited",
      at: this.#now(),
      error: `exited with code ${s.code}${s.signal ? ` (${s.signal})` : ""}${
        tail ? `: ${tail}` : ""
      }`,
    });
  }

  #kill(pid: number, signal: Deno.Signal): void {
    try {
      Deno.kill(pid, signal);
    } catch {
      // already gone
    }
  }

  /**
   * Stops supervision and the process (SIGTERM by pid, SIGKILL after
   * `graceMs`). wireguard-go removes its TUN and socket on SIGTERM.
   */
  async stop(graceMs = 3000): Promise<void> {
    this.#dispatch({ kind: "stop", at: this.#now() });
    const child = this.#child;
    if (!child) return;
    let t: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) => {
      t = setTimeout(() => r("timeout"), graceMs);
    });
    if ((await Promise.race([child.status, timeout])) === "timeout") {
      this.#kill(child.pid, "SIGKILL");
      await child.status;
    }
    clearTimeout(t);
    this.#child = undefined;
  }
}
