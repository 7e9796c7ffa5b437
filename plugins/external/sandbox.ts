/**
 * One site plugin's Deno worker: started with only the permissions its
 * entry grants, spoken to by request and answer, every request under a
 * deadline. A worker that misses a deadline, throws outside a request or
 * cannot be reached is terminated and stays dead: every later request
 * fails at once with the reason.
 *
 * @module
 */
import type { PluginPermissions } from "../../core/config/types.ts";
import { WORKER_SOURCE } from "./worker_main.ts";

/** Deno's worker permission descriptor (`--unstable-worker-options`). */
interface WorkerPermissions {
  read: string[] | false;
  write: string[] | false;
  net: string[] | false;
  env: string[] | false;
  run: false;
  ffi: false;
  sys: false;
  import: false;
}

/** The worker permissions for a grant: only what it lists. */
export function workerPermissions(p: PluginPermissions): WorkerPermissions {
  const list = (v: string[] | undefined) => (v?.length ? [...v] : false);
  return {
    read: list(p.read),
    write: list(p.write),
    net: list(p.net),
    env: list(p.env),
    run: false,
    ffi: false,
    sys: false,
    import: false,
  };
}

/** A message the worker sends on its own (not an answer). */
export type WorkerEvent =
  | { t: "log"; level: string; msg: string; fields: Record<string, unknown> }
  | { t: "reconcile"; reason: string };

/** A request failed: the plugin threw, or the worker is gone. */
export class SandboxError extends Error {
  /** The worker was terminated (deadline, crash); it answers nothing more. */
  readonly dead: boolean;
  constructor(message: string, dead: boolean) {
    super(message);
    this.name = "SandboxError";
    this.dead = dead;
  }
}

let blobUrl: string | undefined;
function workerUrl(): string {
  blobUrl ??= URL.createObjectURL(
    new Blob([WORKER_SOURCE], { type: "application/javascript" }),
  );
  return blobUrl;
}

interface Pending {
  resolve(value: unknown): void;
  reject(e: SandboxError): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Options of {@linkcode Sandbox}. */
export interface SandboxOptions {
  permissions: PluginPermissions;
  /** Messages the worker sends on its own. */
  onEvent(event: WorkerEvent): void;
  /** Called once when the worker dies, with the reason. */
  onDeath(reason: string): void;
  /** A name for messages. */
  label: string;
}

/** A running worker. */
export class Sandbox {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #options: SandboxOptions;
  #nextId = 1;
  #dead: string | undefined;

  constructor(options: SandboxOptions) {
    this.#options = options;
    this.#worker = new Worker(workerUrl(), {
      type: "module",
      name: options.label,
      deno: { permissions: workerPermissions(options.permissions) },
    } as WorkerOptions);
    this.#worker.onmessage = (e: MessageEvent) => this.#message(e.data);
    this.#worker.onerror = (e: ErrorEvent) => {
      // Keep an error in the plugin from reaching the agent.
      e.preventDefault();
      this.kill(`it threw outside a hook: ${e.message}`);
    };
    this.#worker.onmessageerror = () =>
      this.kill("it sent a message that cannot be read");
  }

  /** Why the worker died; undefined while it runs. */
  get deadReason(): string | undefined {
    return this.#dead;
  }

  #message(m: { t: string; id?: number } & Record<string, unknown>): void {
    if (m.t === "log" || m.t === "reconcile") {
      this.#options.onEvent(m as unknown as WorkerEvent);
      return;
    }
    const p = m.id === undefined ? undefined : this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id!);
    clearTimeout(p.timer);
    if (m.t === "result" && m.ok === false) {
      p.reject(new SandboxError(String(m.error), false));
    } else p.resolve(m.t === "result" ? m.value : m);
  }

  /**
   * Sends a request; resolves to the answer. Past `deadlineMs` the worker
   * is terminated (a plugin that spins never answers).
   */
  request(
    message: Record<string, unknown>,
    what: string,
    deadlineMs: number,
  ): Promise<unknown> {
    if (this.#dead) {
      return Promise.reject(new SandboxError(this.#dead, true));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill(`${what} did not answer within ${deadlineMs} ms`);
      }, deadlineMs);
      this.#pending.set(id, { resolve, reject, timer });
      try {
        this.#worker.postMessage({ ...message, id });
      } catch (e) {
        this.#pending.delete(id);
        clearTimeout(timer);
        reject(
          new SandboxError(
            `${what}: its input cannot be sent: ${(e as Error).message}`,
            false,
          ),
        );
      }
    });
  }

  /** Terminates the worker; pending and later requests fail with `reason`. */
  kill(reason: string): void {
    if (this.#dead) return;
    this.#dead = `the plugin was stopped: ${reason}`;
    this.#worker.terminate();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new SandboxError(this.#dead, true));
    }
    this.#pending.clear();
    this.#options.onDeath(this.#dead);
  }
}
