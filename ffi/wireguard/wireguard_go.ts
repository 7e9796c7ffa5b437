/**
 * Starts and supervises `wireguard-go` for one interface: runs it in the
 * foreground (`WG_PROCESS_FOREGROUND=1`) so it can be stopped by pid, waits
 * for its UAPI socket, restarts it with backoff when it exits unexpectedly,
 * and reports its status.
 *
 * A restarted wireguard-go comes back unconfigured; pass `onRestart` to
 * re-apply the device configuration.
 *
 * @module
 */
import { socketPath, UAPI_DIR } from "./uapi.ts";

/** Lifecycle of a supervised wireguard-go. */
export type WireGuardGoState =
  | "starting"
  | "running"
  | "backoff"
  | "stopped"
  | "failed";

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
   * anyone else. @default "replace"
   */
  stale?: "replace" | "fail";
}

/** Bounds of {@linkcode restartDelay}. */
export interface BackoffOptions {
  /** First delay. @default 200 */
  minMs?: number;
  /** Largest delay. @default 30000 */
  maxMs?: number;
}

/**
 * Delay before restart number `attempt` (0-based): doubling from `minMs`,
 * capped at `maxMs`.
 */
export function restartDelay(
  attempt: number,
  options: BackoffOptions = {},
): number {
  const min = options.minMs ?? 200;
  return Math.min(options.maxMs ?? 30_000, min * 2 ** Math.min(attempt, 30));
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

/** A process runs this long before its restart counter resets. */
const STABLE_MS = 10_000;

async function socketAccepts(path: string): Promise<boolean> {
  try {
    const c = await Deno.connect({ transport: "unix", path });
    c.close();
    return true;
  } catch {
    return false;
  }
}

/** A supervised wireguard-go process. */
export class WireGuardGo {
  readonly #ifname: string;
  readonly #opts: WireGuardGoOptions;
  #child: Deno.ChildProcess | undefined;
  #state: WireGuardGoState = "starting";
  #restarts = 0;
  #attempt = 0;
  #lastError = "";
  #stderr = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #startedAt = 0;

  private constructor(ifname: string, opts: WireGuardGoOptions) {
    this.#ifname = ifname;
    this.#opts = opts;
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
    await w.#spawn();
    return w;
  }

  /** The current status. */
  get status(): WireGuardGoStatus {
    return {
      interface: this.#ifname,
      state: this.#state,
      pid: this.#child?.pid ?? 0,
      restarts: this.#restarts,
      lastError: this.#lastError,
    };
  }

  async #replaceStale(path: string): Promise<void> {
    if (!(await socketAccepts(path))) return;
    const pids = await findWireGuardGo(this.#ifname);
    if (this.#opts.stale === "fail" || pids.length === 0) {
      this.#state = "failed";
      this.#lastError = `"${path}" is already served${
        pids.length ? ` by pid ${pids.join(", ")}` : ""
      }`;
      throw new Error(
        `Cannot start wireguard-go for "${this.#ifname}": ${this.#lastError}; stop that process first`,
      );
    }
    for (const pid of pids) {
      this.#kill(pid, "SIGTERM");
      if (!(await gone(pid, 3000))) this.#kill(pid, "SIGKILL");
    }
  }

  async #spawn(): Promise<void> {
    this.#state = "starting";
    const path = socketPath(this.#ifname, this.#opts.socketDir ?? UAPI_DIR);
    await this.#replaceStale(path);
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
      this.#state = "failed";
      this.#lastError = `cannot run "${cmd}": ${err}`;
      throw new Error(
        `Cannot start wireguard-go for "${this.#ifname}": ${this.#lastError}; install wireguard-go`,
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
    const deadline = Date.now() + (this.#opts.startTimeoutMs ?? 5000);
    while (!exited && Date.now() < deadline) {
      if (await socketAccepts(path)) {
        this.#state = "running";
        this.#startedAt = Date.now();
        return;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const why = exited
      ? `exited early: ${this.#stderr.trim().split("\n").at(-1) ?? ""}`
      : `no socket at "${path}" after ${this.#opts.startTimeoutMs ?? 5000} ms`;
    this.#lastError = why;
    if (!exited) this.#kill(child.pid, "SIGKILL");
    this.#state = "failed";
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
    // Exits while starting are handled by #spawn's caller.
    if (this.#state !== "running") return;
    const tail = this.#stderr.trim().split("\n").at(-1) ?? "";
    this.#lastError = `exited with code ${s.code}${
      s.signal ? ` (${s.signal})` : ""
    }${tail ? `: ${tail}` : ""}`;
    if (Date.now() - this.#startedAt > STABLE_MS) this.#attempt = 0;
    const delay = this.#nextDelay();
    this.#state = "backoff";
    this.#timer = setTimeout(() => this.#restart(), delay);
  }

  async #restart(): Promise<void> {
    this.#timer = undefined;
    if (this.#state !== "backoff") return;
    try {
      await this.#spawn();
      this.#restarts++;
      await this.#opts.onRestart?.();
    } catch (err) {
      if ((this.#state as WireGuardGoState) === "stopped") return;
      this.#lastError = err instanceof Error ? err.message : String(err);
      this.#state = "backoff";
      const delay = this.#nextDelay();
      this.#timer = setTimeout(() => this.#restart(), delay);
    }
  }

  #nextDelay(): number {
    const bounds: BackoffOptions = {};
    if (this.#opts.backoffMinMs !== undefined) {
      bounds.minMs = this.#opts.backoffMinMs;
    }
    if (this.#opts.backoffMaxMs !== undefined) {
      bounds.maxMs = this.#opts.backoffMaxMs;
    }
    return restartDelay(this.#attempt++, bounds);
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
    this.#state = "stopped";
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const child = this.#child;
    if (!child) return;
    this.#kill(child.pid, "SIGTERM");
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
