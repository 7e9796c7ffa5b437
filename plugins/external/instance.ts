/**
 * The agent's side of a running site plugin: an instance the registry
 * holds like a built-in's, whose hooks cross into the plugin's worker.
 * Asynchronous hooks wait for the worker (under the deadline); synchronous
 * ones answer from {@linkcode AnswerCache} and refresh it in the background.
 *
 * @module
 */
import type { EdgespanConfig } from "../../core/config/types.ts";
import {
  PluginPendingError,
  type PluginPermissions,
  publicIdentity,
  redactedConfig,
  SUPPORTED_API_VERSIONS,
} from "../../core/plugins/site.ts";
import {
  type AnyPluginInstance,
  HOOK_COMBINATION,
  type PluginContext,
  type PluginKind,
} from "../../core/plugins/types.ts";
import { type Answer, AnswerCache, inputKey, stableKey } from "./answers.ts";
import { Sandbox, SandboxError, type WorkerEvent } from "./sandbox.ts";

/**
 * Hook groups decided per peer inside the pass with the clock and live
 * counters: a sandboxed plugin cannot answer them synchronously.
 */
const PER_PEER_PER_PASS: readonly string[] = ["peerSelection", "peerPath"];

/** Hook groups a site plugin may implement (see `plugin.ts`). */
export const SITE_KINDS: readonly PluginKind[] = (Object.keys(
  HOOK_COMBINATION,
) as PluginKind[]).filter((k) => !PER_PEER_PER_PASS.includes(k));

/** Deadlines of a sandboxed plugin, in ms. */
export interface SandboxLimits {
  /** A hook call. @default 1000 */
  callMs: number;
  /** Loading the module, create + start, reload, stop. @default 10000 */
  startMs: number;
}

/** What the loader found in a module, enough to run it again. */
export interface LoadedModule {
  name: string;
  /** The module's bytes as a data URL (what was hashed is what runs). */
  url: string;
  permissions: PluginPermissions;
  hooks: readonly PluginKind[];
}

/** The init request for a fresh worker. */
export function initMessage(
  module: LoadedModule,
  options: unknown,
  config: EdgespanConfig,
  extra: { identity?: unknown; oneShot?: boolean } = {},
): Record<string, unknown> {
  return {
    t: "init",
    url: module.url,
    name: module.name,
    options,
    config: redactedConfig(config),
    identity: extra.identity ?? null,
    oneShot: extra.oneShot ?? false,
    supported: SUPPORTED_API_VERSIONS,
    kinds: SITE_KINDS,
  };
}

const LEVELS = ["debug", "info", "warn", "error"] as const;

/** Creates the running instance of a loaded site plugin. */
export function sandboxedInstance(
  module: LoadedModule,
  ctx: PluginContext,
  initialOptions: unknown,
  limits: SandboxLimits,
): AnyPluginInstance {
  let box: Sandbox | undefined;
  let options = initialOptions;
  let config = ctx.config;
  const cache = new AnswerCache();
  const inflight = new Set<string>();
  /** Silences the death notice of a worker stopped on purpose. */
  const stopping = new WeakMap<Sandbox, () => void>();

  const onEvent = (e: WorkerEvent) => {
    if (e.t === "reconcile") {
      void refreshAll().then(() => ctx.requestReconcile(e.reason));
      return;
    }
    const level = LEVELS.find((l) => l === e.level) ?? "info";
    ctx.log[level](e.msg.slice(0, 2000), { fields: e.fields });
  };

  async function spawn(): Promise<void> {
    if (box) stopping.get(box)?.();
    box?.kill("replaced");
    cache.clear();
    inflight.clear();
    let quiet = false;
    const b = new Sandbox({
      permissions: module.permissions,
      label: `plugin ${module.name}`,
      onEvent,
      onDeath: (reason) => {
        if (!quiet) ctx.log.warn("site plugin stopped", { reason });
      },
    });
    box = b;
    try {
      const r = await b.request(
        initMessage(module, options, config, {
          identity: publicIdentity(ctx.identity),
          oneShot: ctx.oneShot,
        }),
        "loading the module",
        limits.startMs,
      ) as { t: string; problems?: { path: string; message: string }[] };
      if (r.t !== "loaded") {
        throw new Error(
          (r.problems ?? []).map((p) => `${p.path}: ${p.message}`).join("; "),
        );
      }
      await b.request({ t: "create" }, "create and start", limits.startMs);
    } catch (e) {
      // A plugin that cannot start keeps no worker (the next apply retries).
      quiet = true;
      b.kill("it did not start");
      throw e;
    }
    stopping.set(b, () => (quiet = true));
  }

  function alive(): Sandbox {
    if (!box) throw new SandboxError("the plugin is not started", true);
    if (box.deadReason) throw new SandboxError(box.deadReason, true);
    return box;
  }

  function ask(
    group: string,
    method: string,
    args: unknown[],
  ): Promise<unknown> {
    return alive().request(
      { t: "call", group, method, args },
      `${group}.${method}`,
      limits.callMs,
    );
  }

  function refresh(
    key: string,
    group: string,
    method: string,
    args: unknown[],
  ) {
    if (inflight.has(key)) return Promise.resolve();
    inflight.add(key);
    return ask(group, method, args).then(
      (value) => ({ ok: true as const, value }),
      (e: SandboxError) =>
        e.dead ? undefined : { ok: false as const, error: e.message },
    ).then((outcome) => {
      inflight.delete(key);
      if (!outcome) return;
      const answer: Answer = {
        group,
        method,
        args,
        outcome,
        signature: outcome.ok ? stableKey(outcome.value) : `!${outcome.error}`,
      };
      if (cache.set(key, answer)) {
        ctx.requestReconcile(`${group}.${method} answered anew`);
      }
    });
  }

  async function refreshAll(): Promise<void> {
    await Promise.allSettled(
      cache.entries().map(([key, a]) =>
        refresh(key, a.group, a.method, a.args)
      ),
    );
  }

  function syncHook(group: string, method: string) {
    return (...args: unknown[]) => {
      alive();
      const key = inputKey(group, method, args);
      const answer = cache.get(key);
      void refresh(key, group, method, args);
      if (!answer) {
        throw new PluginPendingError(module.name, `${group}.${method}`);
      }
      if (!answer.outcome.ok) throw new Error(answer.outcome.error);
      return structuredClone(answer.outcome.value);
    };
  }

  const instance: Record<string, unknown> = {
    start: spawn,
    async reload(next: unknown, nextConfig: EdgespanConfig) {
      options = next;
      config = nextConfig;
      if (!box || box.deadReason) return await spawn();
      await box.request(
        { t: "reload", options, config: redactedConfig(config) },
        "reload",
        limits.startMs,
      );
      await refreshAll();
    },
    async stop() {
      const b = box;
      box = undefined;
      if (!b || b.deadReason) return;
      try {
        await b.request({ t: "stop" }, "stop", limits.callMs);
      } finally {
        stopping.get(b)?.();
        b.kill("stopped");
      }
    },
  };
  for (const group of module.hooks) {
    const table = HOOK_COMBINATION[group] as Record<string, string>;
    const hooks: Record<string, unknown> = {};
    for (const [method, combination] of Object.entries(table)) {
      hooks[method] = combination === "parallel"
        ? (...args: unknown[]) => ask(group, method, args)
        : syncHook(group, method);
    }
    instance[group] = hooks;
  }
  return instance as AnyPluginInstance;
}
