/**
 * The plugin registry: knows the built-in plugins, enables each per the site
 * config, runs their lifecycle and calls their hooks so that a plugin that
 * throws is reported in the `plugins` resource and never takes the agent down.
 *
 * @module
 */
import type { ConfigProblem, EdgespanConfig } from "../config/types.ts";
import type { KnownPlugin } from "../config/validate.ts";
import type { LocalIdentity } from "../identity/identity.ts";
import type { Logger } from "../log/logger.ts";
import type { PluginStatusSpec } from "../resources/specs.ts";
import { ResourceType } from "../resources/definitions.ts";
import type { ResourceStore } from "../resources/store.ts";
import { PluginPendingError, type SitePluginDefinition } from "./site.ts";
import {
  type AnyPluginDefinition,
  type AnyPluginInstance,
  type Combination,
  HOOK_COMBINATION,
  type HookCallers,
  type PluginAnswer,
  PluginError,
  type PluginKind,
  pluginKindLabel,
} from "./types.ts";

interface Slot {
  def: AnyPluginDefinition;
  instance?: AnyPluginInstance;
  abort?: AbortController;
  optionsJson?: string;
  status: PluginStatusSpec;
  /** Hook calls, failed calls and seconds spent in them since start. */
  calls: PluginCallStats;
}

/** Hook calls of one plugin since start, for `/metrics`. */
export interface PluginCallStats {
  name: string;
  calls: number;
  errors: number;
  /** Time spent in the plugin's hooks (a sandboxed plugin's synchronous hooks: the cache lookup). */
  seconds: number;
}

function newSlot(def: AnyPluginDefinition): Slot {
  const origin = (def as Partial<SitePluginDefinition>).origin;
  return {
    def,
    status: {
      name: def.name,
      kind: pluginKindLabel(def),
      version: def.version,
      description: def.description,
      enabled: false,
      state: "disabled",
      errors: 0,
      lastError: "",
      lastErrorTime: "",
      source: origin?.source ?? "built-in",
      ...(origin?.sha256 ? { sha256: origin.sha256 } : {}),
      ...(origin ? { permissions: origin.permissions ?? [] } : {}),
    },
    calls: { name: def.name, calls: 0, errors: 0, seconds: 0 },
  };
}

/** Two site plugin definitions run the same bytes with the same grants. */
function sameOrigin(a: AnyPluginDefinition, b: AnyPluginDefinition): boolean {
  const x = (a as Partial<SitePluginDefinition>).origin;
  const y = (b as Partial<SitePluginDefinition>).origin;
  return x?.source === y?.source && x?.sha256 === y?.sha256 &&
    JSON.stringify(x?.permissions) === JSON.stringify(y?.permissions);
}

/** Options for {@linkcode PluginRegistry}. */
export interface PluginRegistryOptions {
  store: ResourceStore;
  log: Logger;
  /** @default Date.now */
  now?: () => number;
  /** Called when a plugin asks for a reconcile. @default nothing */
  requestReconcile?: (reason: string) => void;
  /** The agent runs a one-shot command (no reconcile loop). @default false */
  oneShot?: boolean;
}

/** Whether a plugin is enabled by a config (its entry, else its default). */
export function isEnabled(
  def: AnyPluginDefinition,
  config: EdgespanConfig,
): boolean {
  return config.plugins[def.name]?.enabled ?? def.defaultEnabled;
}

/** Turns definitions into what config validation needs to check `plugins:`. */
export function knownPlugins(
  defs: readonly AnyPluginDefinition[],
): KnownPlugin[] {
  return defs.map((def) => ({
    name: def.name,
    validateOptions: (raw: Record<string, unknown>): ConfigProblem[] => {
      if (!def.parseOptions) {
        return Object.keys(raw).map((k) => ({
          path: k,
          message: `unknown key; plugin "${def.name}" takes only "enabled"`,
        }));
      }
      const result = def.parseOptions(raw);
      return result.ok ? [] : result.problems;
    },
  }));
}

/** Whether a plugin's hook group object implements `method`. */
function implementsHook(hooks: object, method: string): boolean {
  return typeof (hooks as Record<string, unknown>)[method] === "function";
}

/** Runs the plugins. */
export class PluginRegistry {
  readonly #slots: Slot[] = [];
  readonly #store: ResourceStore;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #requestReconcile: (reason: string) => void;
  readonly #oneShot: boolean;
  readonly #builtIn: Set<string>;
  /**
   * One typed caller per hook, combined as {@linkcode HOOK_COMBINATION}
   * says; a plugin that throws is reported in its status and skipped.
   */
  readonly hooks: HookCallers;

  constructor(
    definitions: readonly AnyPluginDefinition[],
    options: PluginRegistryOptions,
  ) {
    const seen = new Set<string>();
    for (const def of definitions) {
      if (seen.has(def.name)) {
        throw new TypeError(`Cannot register plugin "${def.name}" twice`);
      }
      seen.add(def.name);
      this.#slots.push(newSlot(def));
    }
    this.#builtIn = new Set(seen);
    this.#store = options.store;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#requestReconcile = options.requestReconcile ?? (() => {});
    this.#oneShot = options.oneShot ?? false;
    for (const slot of this.#slots) this.#publish(slot);
    this.hooks = this.#buildCallers();
  }

  /** The definitions, for config validation and listings. */
  definitions(): AnyPluginDefinition[] {
    return this.#slots.map((s) => s.def);
  }

  /** Status of every plugin. */
  statuses(): PluginStatusSpec[] {
    return this.#slots.map((s) => ({ ...s.status }));
  }

  /** Hook calls per plugin since start (site plugins removed since are left out). */
  callStats(): PluginCallStats[] {
    return this.#slots.map((s) => ({ ...s.calls }));
  }

  /**
   * Replaces the site plugins (loaded from files) by `defs`: a plugin no
   * longer listed is stopped and removed, one whose file or grants changed
   * is stopped and replaced (started by the next {@linkcode apply}), one
   * unchanged keeps running. Built-in plugins are untouched.
   */
  async setSitePlugins(defs: readonly SitePluginDefinition[]): Promise<void> {
    for (const def of defs) {
      if (this.#builtIn.has(def.name)) {
        throw new TypeError(
          `Cannot load site plugin "${def.name}": a built-in plugin has that name`,
        );
      }
    }
    const wanted = new Map(defs.map((d) => [d.name, d]));
    for (const slot of [...this.#slots]) {
      if (this.#builtIn.has(slot.def.name)) continue;
      const next = wanted.get(slot.def.name);
      if (next && sameOrigin(slot.def, next)) {
        wanted.delete(slot.def.name);
        continue;
      }
      if (slot.instance) await this.#stop(slot);
      if (!next) {
        this.#slots.splice(this.#slots.indexOf(slot), 1);
        this.#store.delete(ResourceType.plugins, slot.def.name);
        continue;
      }
      wanted.delete(slot.def.name);
      const fresh = newSlot(next);
      fresh.calls = { ...slot.calls };
      this.#slots[this.#slots.indexOf(slot)] = fresh;
      this.#publish(fresh);
    }
    for (const def of wanted.values()) {
      const slot = newSlot(def);
      this.#slots.push(slot);
      this.#publish(slot);
    }
  }

  #publish(slot: Slot): void {
    this.#store.set(ResourceType.plugins, slot.def.name, slot.status);
  }

  #fail(slot: Slot, operation: string, cause: unknown): PluginError {
    const err = new PluginError(slot.def.name, operation, cause);
    slot.calls.errors++;
    slot.status = {
      ...slot.status,
      state: "failed",
      errors: slot.status.errors + 1,
      lastError: err.message,
      lastErrorTime: new Date(this.#now()).toISOString(),
    };
    this.#publish(slot);
    this.#log.warn("plugin failed", {
      plugin: slot.def.name,
      operation,
      error: err.message,
    });
    return err;
  }

  #recovered(slot: Slot): void {
    if (slot.status.state === "failed" && slot.instance) {
      slot.status = { ...slot.status, state: "running" };
      this.#publish(slot);
    }
  }

  async #stop(slot: Slot): Promise<void> {
    const instance = slot.instance;
    slot.abort?.abort();
    delete slot.instance;
    delete slot.abort;
    delete slot.optionsJson;
    try {
      await instance?.stop?.();
    } catch (e) {
      this.#fail(slot, "stop", e);
    }
  }

  /**
   * Brings the running set in line with `config`: stops disabled plugins,
   * starts enabled ones, and hands changed options or config to running ones
   * through `reload` (no restart, so healthy tunnels are kept). A plugin that
   * failed to start is retried on the next call.
   */
  async apply(config: EdgespanConfig, identity: LocalIdentity): Promise<void> {
    for (const slot of this.#slots) {
      const enabled = isEnabled(slot.def, config);
      if (!enabled) {
        if (slot.instance) await this.#stop(slot);
        slot.status = { ...slot.status, enabled: false, state: "disabled" };
        this.#publish(slot);
        continue;
      }
      const raw = config.plugins[slot.def.name]?.options ?? {};
      let options: unknown = raw;
      if (slot.def.parseOptions) {
        const parsed = slot.def.parseOptions(raw);
        if (!parsed.ok) {
          this.#fail(
            slot,
            "options",
            parsed.problems.map((p) => `${p.path}: ${p.message}`).join("; "),
          );
          continue;
        }
        options = parsed.options;
      }
      const optionsJson = JSON.stringify(options);
      if (slot.instance) {
        try {
          await slot.instance.reload?.(options, config);
          slot.optionsJson = optionsJson;
          slot.status = { ...slot.status, enabled: true };
          this.#recovered(slot);
          this.#publish(slot);
        } catch (e) {
          this.#fail(slot, "reload", e);
        }
        continue;
      }
      const abort = new AbortController();
      const name = slot.def.name;
      try {
        const instance = slot.def.create({
          pluginName: name,
          config,
          identity,
          log: this.#log.with({ plugin: name }),
          now: this.#now,
          signal: abort.signal,
          oneShot: this.#oneShot,
          requestReconcile: (reason) =>
            this.#requestReconcile(`${name}: ${reason}`),
          listResources: <S>(type: string) => this.#store.list<S>(type),
        }, options);
        await instance.start?.();
        slot.instance = instance;
        slot.abort = abort;
        slot.optionsJson = optionsJson;
        slot.status = { ...slot.status, enabled: true, state: "running" };
        this.#publish(slot);
      } catch (e) {
        abort.abort();
        slot.status = { ...slot.status, enabled: true };
        this.#fail(slot, "start", e);
      }
    }
  }

  /** Stops every running plugin (reverse order). */
  async stopAll(): Promise<void> {
    for (const slot of [...this.#slots].reverse()) {
      if (!slot.instance) continue;
      await this.#stop(slot);
      slot.status = { ...slot.status, state: "stopped" };
      this.#publish(slot);
    }
  }

  #running(kind: PluginKind): { slot: Slot; hooks: object }[] {
    return this.#slots.flatMap((slot) => {
      const hooks = slot.instance?.[kind];
      return hooks && slot.def.hooks.includes(kind) ? [{ slot, hooks }] : [];
    });
  }

  /** Names of running plugins of a hook group, in registration order. */
  runningNames(kind: PluginKind): string[] {
    return this.#running(kind).map((r) => r.slot.def.name);
  }

  #buildCallers(): HookCallers {
    const callers: Record<string, Record<string, unknown>> = {};
    for (const [kind, table] of Object.entries(HOOK_COMBINATION)) {
      const group: Record<string, unknown> = {};
      for (const [method, combination] of Object.entries(table)) {
        group[method] = this.#caller(
          kind as PluginKind,
          method,
          combination as Combination,
        );
      }
      callers[kind] = Object.freeze(group);
    }
    return Object.freeze(callers) as unknown as HookCallers;
  }

  #caller(
    kind: PluginKind,
    method: string,
    combination: Combination,
  ): (...args: unknown[]) => unknown {
    // An optional hook a plugin leaves out answers `undefined`.
    const invoke = (hooks: unknown, args: unknown[]): unknown => {
      const fn = (hooks as Record<string, unknown>)[method];
      return typeof fn === "function" ? fn.apply(hooks, args) : undefined;
    };
    switch (combination) {
      case "collect":
        return (...args) => this.#collect(kind, method, (h) => invoke(h, args));
      case "parallel":
        return (...args) =>
          this.#parallel(kind, method, (h) => Promise.resolve(invoke(h, args)));
      case "sequential":
        return (input, ...rest) =>
          this.#sequential(
            kind,
            method,
            input,
            (h, v) => invoke(h, [v, ...rest]),
          );
      case "first":
        return (...args) => this.#first(kind, method, (h) => invoke(h, args));
    }
  }

  /** Calls one plugin's hook, counting the call and its time. */
  #timed<T>(slot: Slot, call: () => T): T {
    const started = performance.now();
    slot.calls.calls++;
    try {
      return call();
    } finally {
      slot.calls.seconds += (performance.now() - started) / 1000;
    }
  }

  /** A hook threw: a pending answer only skips the plugin, anything else fails it. */
  #threw(slot: Slot, operation: string, e: unknown): void {
    if (e instanceof PluginPendingError) return;
    this.#fail(slot, operation, e);
  }

  #collect(
    kind: PluginKind,
    operation: string,
    call: (hooks: unknown) => unknown,
  ): PluginAnswer<unknown>[] {
    const out: PluginAnswer<unknown>[] = [];
    for (const { slot, hooks } of this.#running(kind)) {
      try {
        out.push({
          name: slot.def.name,
          value: this.#timed(slot, () => call(hooks)),
        });
        // An optional hook the plugin leaves out proves nothing about it.
        if (implementsHook(hooks, operation)) this.#recovered(slot);
      } catch (e) {
        this.#threw(slot, operation, e);
      }
    }
    return out;
  }

  async #parallel(
    kind: PluginKind,
    operation: string,
    call: (hooks: unknown) => Promise<unknown>,
  ): Promise<PluginAnswer<unknown>[]> {
    const running = this.#running(kind);
    const settled = await Promise.allSettled(
      running.map(async ({ slot, hooks }) => {
        const started = performance.now();
        slot.calls.calls++;
        try {
          return await call(hooks);
        } finally {
          slot.calls.seconds += (performance.now() - started) / 1000;
        }
      }),
    );
    const out: PluginAnswer<unknown>[] = [];
    settled.forEach((result, i) => {
      const { slot } = running[i]!;
      if (result.status === "fulfilled") {
        out.push({ name: slot.def.name, value: result.value });
        this.#recovered(slot);
      } else {
        this.#threw(slot, operation, result.reason);
      }
    });
    return out;
  }

  #sequential(
    kind: PluginKind,
    operation: string,
    input: unknown,
    call: (hooks: unknown, value: unknown) => unknown,
  ): unknown {
    let value = input;
    for (const { slot, hooks } of this.#running(kind)) {
      // An optional hook the plugin leaves out passes the value on.
      if (!implementsHook(hooks, operation)) continue;
      try {
        value = this.#timed(slot, () => call(hooks, value));
        this.#recovered(slot);
      } catch (e) {
        this.#threw(slot, operation, e);
      }
    }
    return value;
  }

  #first(
    kind: PluginKind,
    operation: string,
    call: (hooks: unknown) => unknown,
  ): unknown {
    const [head] = this.#running(kind);
    if (!head) return undefined;
    try {
      const value = this.#timed(head.slot, () => call(head.hooks));
      this.#recovered(head.slot);
      return value;
    } catch (e) {
      this.#threw(head.slot, operation, e);
      return undefined;
    }
  }
}
