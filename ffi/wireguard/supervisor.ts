/**
 * The decisions of the wireguard-go supervisor as a pure state machine:
 * events in (the process became ready, failed to start, exited; a timer
 * fired; stop was asked), a new model and the actions to take out. Time is
 * passed in with each event, so every path is unit-tested without a clock.
 *
 * The invariant the driver relies on: a `spawn` action is only emitted from
 * `backoff` (on its timer), and the machine leaves `backoff` when it does,
 * so at most one process is being started or running at any time, whatever
 * the order of events.
 *
 * @module
 */

/** Lifecycle of a supervised wireguard-go. */
export type SupervisorState =
  | "starting"
  | "running"
  | "backoff"
  | "stopped"
  | "failed";

/** The supervisor's memory. */
export interface SupervisorModel {
  state: SupervisorState;
  /** Failed runs in a row; drives the backoff delay. */
  attempt: number;
  /** Restarts that reached `running` after the first start. */
  restarts: number;
  /** When the current process became ready (ms). */
  startedAt: number;
  /** When the next spawn is due while in `backoff` (ms). */
  retryAt: number;
  /** Why the last process ended or failed to start ("" when none did). */
  lastError: string;
  /** Whether any process reached `running` (a first start failure is final). */
  ranOnce: boolean;
}

/** What happened. `at` is the time in ms. */
export type SupervisorEvent =
  | { kind: "ready"; at: number }
  | { kind: "spawnFailed"; at: number; error: string }
  | { kind: "exited"; at: number; error: string }
  | { kind: "timer"; at: number }
  | { kind: "stop"; at: number };

/** What the driver must do, in order. */
export type SupervisorAction =
  /** Start one process and report `ready` or `spawnFailed`. */
  | { kind: "spawn" }
  /** Deliver a `timer` event after `delayMs`. */
  | { kind: "schedule"; delayMs: number }
  /** Drop a scheduled timer. */
  | { kind: "cancelTimer" }
  /** End the current process (it is no longer wanted). */
  | { kind: "terminate" }
  /** A restarted process is ready: re-apply the device configuration. */
  | { kind: "restarted" };

/** Timing of the machine. */
export interface SupervisorOptions {
  /** First restart delay. @default 200 */
  backoffMinMs?: number;
  /** Largest restart delay. @default 30000 */
  backoffMaxMs?: number;
  /** A process running this long resets the backoff. @default 10000 */
  stableMs?: number;
}

/** The result of one step. */
export interface SupervisorStep {
  model: SupervisorModel;
  actions: SupervisorAction[];
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

/** The model of a supervisor whose first process is being started. */
export function initialSupervisor(): SupervisorModel {
  return {
    state: "starting",
    attempt: 0,
    restarts: 0,
    startedAt: 0,
    retryAt: 0,
    lastError: "",
    ranOnce: false,
  };
}

function backoff(
  m: SupervisorModel,
  at: number,
  error: string,
  o: SupervisorOptions,
): SupervisorStep {
  const delayMs = restartDelay(m.attempt, {
    ...(o.backoffMinMs === undefined ? {} : { minMs: o.backoffMinMs }),
    ...(o.backoffMaxMs === undefined ? {} : { maxMs: o.backoffMaxMs }),
  });
  return {
    model: {
      ...m,
      state: "backoff",
      attempt: m.attempt + 1,
      retryAt: at + delayMs,
      lastError: error,
    },
    actions: [{ kind: "schedule", delayMs }],
  };
}

/** Applies one event. Events that do not fit the state change nothing. */
export function superviseStep(
  m: SupervisorModel,
  e: SupervisorEvent,
  options: SupervisorOptions = {},
): SupervisorStep {
  const same = { model: m, actions: [] };
  switch (e.kind) {
    case "ready":
      if (m.state === "stopped") {
        // stop() came while this process was starting
        return { model: m, actions: [{ kind: "terminate" }] };
      }
      if (m.state !== "starting") return same;
      return {
        model: {
          ...m,
          state: "running",
          startedAt: e.at,
          ranOnce: true,
          restarts: m.ranOnce ? m.restarts + 1 : m.restarts,
        },
        actions: m.ranOnce ? [{ kind: "restarted" }] : [],
      };
    case "spawnFailed":
      if (m.state !== "starting") return same;
      if (!m.ranOnce) {
        return {
          model: { ...m, state: "failed", lastError: e.error },
          actions: [],
        };
      }
      return backoff(m, e.at, e.error, options);
    case "exited": {
      // An exit while starting is reported by the spawn as `spawnFailed`.
      if (m.state !== "running") return same;
      const stable = e.at - m.startedAt >= (options.stableMs ?? 10_000);
      return backoff(stable ? { ...m, attempt: 0 } : m, e.at, e.error, options);
    }
    case "timer":
      if (m.state !== "backoff") return same;
      if (e.at < m.retryAt) {
        // a timer that fired early by the clock: wait for the rest
        return {
          model: m,
          actions: [{ kind: "schedule", delayMs: m.retryAt - e.at }],
        };
      }
      return {
        model: { ...m, state: "starting" },
        actions: [{ kind: "spawn" }],
      };
    case "stop":
      if (m.state === "stopped") return same;
      return {
        model: { ...m, state: "stopped" },
        actions: [{ kind: "cancelTimer" }, { kind: "terminate" }],
      };
  }
}
