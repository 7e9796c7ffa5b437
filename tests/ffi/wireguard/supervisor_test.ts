/** The wireguard-go supervisor's state machine, with time passed in. */
import {
  initialSupervisor,
  superviseStep,
  type SupervisorAction,
  type SupervisorEvent,
  type SupervisorModel,
} from "../../../ffi/wireguard/supervisor.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";

function run(
  events: SupervisorEvent[],
  model: SupervisorModel = initialSupervisor(),
): { model: SupervisorModel; actions: SupervisorAction[][] } {
  const actions: SupervisorAction[][] = [];
  for (const e of events) {
    const step = superviseStep(model, e);
    model = step.model;
    actions.push(step.actions);
  }
  return { model, actions };
}

Deno.test("superviseStep: first start ready, exit, backoff 200 ms, one spawn, restarted", () => {
  const { model, actions } = run([
    { kind: "ready", at: 1000 },
    { kind: "exited", at: 2000, error: "exited with code 1" },
    { kind: "timer", at: 2200 },
    { kind: "ready", at: 2250 },
  ]);
  assertEquals(actions, [
    [],
    [{ kind: "schedule", delayMs: 200 }],
    [{ kind: "spawn" }],
    [{ kind: "restarted" }],
  ]);
  assertEquals(
    [model.state, model.restarts, model.attempt, model.lastError],
    ["running", 1, 1, "exited with code 1"],
  );
});

Deno.test("superviseStep: a failed first start is final; a failed restart backs off doubling", () => {
  assertEquals(
    run([{ kind: "spawnFailed", at: 0, error: "no socket" }]).model.state,
    "failed",
  );
  const { model, actions } = run([
    { kind: "ready", at: 0 },
    { kind: "exited", at: 100, error: "x" },
    { kind: "timer", at: 300 },
    { kind: "spawnFailed", at: 310, error: "exited early" },
    { kind: "timer", at: 710 },
    { kind: "spawnFailed", at: 720, error: "exited early" },
  ]);
  assertEquals(actions.map((a) => a.map((x) => x.kind).join(",")), [
    "",
    "schedule",
    "spawn",
    "schedule",
    "spawn",
    "schedule",
  ]);
  assertEquals(
    actions.flat().filter((a) => a.kind === "schedule").map((a) =>
      a.kind === "schedule" ? a.delayMs : 0
    ),
    [200, 400, 800],
  );
  assertEquals([model.state, model.retryAt], ["backoff", 1520]);
});

Deno.test("superviseStep: a run longer than stableMs resets the backoff", () => {
  let m = run([
    { kind: "ready", at: 0 },
    { kind: "exited", at: 100, error: "x" },
    { kind: "timer", at: 300 },
    { kind: "ready", at: 310 },
  ]).model;
  assertEquals(m.attempt, 1);
  const step = superviseStep(m, { kind: "exited", at: 20_310, error: "x" });
  m = step.model;
  assertEquals(step.actions, [{ kind: "schedule", delayMs: 200 }]);
  assertEquals(m.attempt, 1);
});

Deno.test("superviseStep: events that do not fit the state change nothing", () => {
  const running = run([{ kind: "ready", at: 0 }]).model;
  for (
    const e of [
      { kind: "timer", at: 5 },
      { kind: "ready", at: 5 },
      { kind: "spawnFailed", at: 5, error: "x" },
    ] as SupervisorEvent[]
  ) {
    assertEquals(superviseStep(running, e), { model: running, actions: [] });
  }
  // an exit while starting is reported by the spawn, not as an exit
  const starting = initialSupervisor();
  assertEquals(
    superviseStep(starting, { kind: "exited", at: 1, error: "x" }).actions,
    [],
  );
});

Deno.test("superviseStep: a timer that fires early waits for the rest", () => {
  const backoff = run([
    { kind: "ready", at: 0 },
    { kind: "exited", at: 100, error: "x" },
  ]).model;
  assertEquals(superviseStep(backoff, { kind: "timer", at: 299 }).actions, [
    { kind: "schedule", delayMs: 1 },
  ]);
});

Deno.test("superviseStep: stop cancels the backoff; a process ready after stop is ended", () => {
  const backoff = run([
    { kind: "ready", at: 0 },
    { kind: "exited", at: 100, error: "x" },
  ]).model;
  const stopped = superviseStep(backoff, { kind: "stop", at: 150 });
  assertEquals(stopped.actions, [{ kind: "cancelTimer" }, {
    kind: "terminate",
  }]);
  assertEquals(
    superviseStep(stopped.model, { kind: "timer", at: 300 }).actions,
    [],
  );
  assertEquals(
    superviseStep(stopped.model, { kind: "ready", at: 300 }).actions,
    [{ kind: "terminate" }],
  );
});

Deno.test("superviseStep: at most one process starts or runs, for any order of events", () => {
  // A simulated driver: `spawn` starts a process that later becomes ready
  // or fails; a running process may exit; timers fire; stop may come.
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 300; round++) {
    let model = initialSupervisor();
    let starting = 1; // processes being started (the first one now)
    let running = 0; // processes that became ready
    let timers = 0;
    let at = 0;
    for (let i = 0; i < 60; i++) {
      at += Math.floor(rand() * 500);
      const choices: SupervisorEvent[] = [
        { kind: "ready", at },
        { kind: "spawnFailed", at, error: "x" },
        { kind: "exited", at, error: "x" },
        { kind: "timer", at },
      ];
      if (rand() < 0.02) choices.push({ kind: "stop", at });
      const e = choices[Math.floor(rand() * choices.length)]!;
      // only deliver what a real driver could produce
      if ((e.kind === "ready" || e.kind === "spawnFailed") && starting === 0) {
        continue;
      }
      if (e.kind === "exited" && running === 0) continue;
      if (e.kind === "timer" && timers === 0) continue;
      if (e.kind === "ready") [starting, running] = [starting - 1, running + 1];
      if (e.kind === "spawnFailed") starting--;
      if (e.kind === "exited") running--;
      if (e.kind === "timer") timers--;
      const step = superviseStep(model, e);
      model = step.model;
      for (const a of step.actions) {
        if (a.kind === "spawn") starting++;
        if (a.kind === "schedule") timers++;
        if (a.kind === "cancelTimer") timers = 0;
        if (a.kind === "terminate") {
          if (running > 0) running--;
          else if (starting > 0) starting--;
        }
      }
      const live = starting + running;
      assert(live <= 1, `round ${round}: ${live} processes after ${e.kind}`);
      assert(timers <= 1, `round ${round}: ${timers} timers after ${e.kind}`);
      if (model.state === "backoff") {
        assertEquals([live, timers], [0, 1], `round ${round}: in backoff`);
      }
      if (model.state === "running") assertEquals(running, 1);
    }
  }
});
