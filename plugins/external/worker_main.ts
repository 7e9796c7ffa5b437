/**
 * The program of a site plugin's worker. It is started from its own source
 * text ({@linkcode WORKER_SOURCE}, a blob URL) so that it runs the same from
 * a clone, a bundle and a compiled binary: {@linkcode workerMain} must not
 * use anything outside its own body.
 *
 * The worker imports the plugin (the module's bytes, as a data URL: what
 * was hashed is what runs), checks its default export, parses its options
 * and answers the host's requests (see `protocol.ts`).
 *
 * @module
 */

/** The worker's program; runs inside the worker only. */
export function workerMain(): void {
  type Msg = Record<string, unknown> & { t: string; id?: number };
  type Problem = { path: string; message: string };
  const scope = self as unknown as {
    onmessage: ((e: MessageEvent<Msg>) => void) | null;
    postMessage(m: unknown): void;
  };
  // deno-lint-ignore no-explicit-any
  let plugin: any;
  // deno-lint-ignore no-explicit-any
  let instance: any;
  let options: unknown;
  let abort = new AbortController();
  let init: Msg = { t: "" };
  const post = (m: Record<string, unknown>) => scope.postMessage(m);
  const text = (e: unknown) =>
    e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const isMap = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);

  function check(raw: Record<string, unknown>): Problem[] {
    if (typeof plugin.parseOptions !== "function") {
      options = {};
      return Object.keys(raw).map((k) => ({
        path: k,
        message: "unknown key; this plugin takes no options",
      }));
    }
    const r = plugin.parseOptions(raw);
    if (isMap(r) && r.ok === true) {
      options = r.options;
      return [];
    }
    if (isMap(r) && r.ok === false && Array.isArray(r.problems)) {
      return r.problems.map((p: unknown) =>
        isMap(p)
          ? { path: String(p.path ?? ""), message: String(p.message ?? "") }
          : { path: "(options)", message: String(p) }
      );
    }
    return [{
      path: "module",
      message: "parseOptions returned neither { ok: true } nor { ok: false }",
    }];
  }

  async function load(m: Msg): Promise<Record<string, unknown>> {
    init = m;
    let mod: Record<string, unknown>;
    try {
      mod = await import(String(m.url));
    } catch (e) {
      return refuse("module", `cannot be loaded: ${text(e)}`);
    }
    plugin = mod.default;
    if (!isMap(plugin)) {
      return refuse(
        "module",
        "has no default export; export default definePlugin({ ... })",
      );
    }
    const supported = m.supported as number[];
    if (!supported.includes(plugin.apiVersion as number)) {
      return refuse(
        "module",
        `is written for plugin API version ${
          JSON.stringify(plugin.apiVersion)
        }; this agent runs version ${
          supported.join(", ")
        } (update the plugin or the agent)`,
      );
    }
    const kinds = m.kinds as string[];
    const hooks = plugin.hooks;
    if (!Array.isArray(hooks) || hooks.some((h) => !kinds.includes(h))) {
      return refuse(
        "module",
        `declares hooks ${JSON.stringify(hooks)}; a site plugin may use ${
          kinds.join(", ")
        }`,
      );
    }
    for (const key of ["version", "description"]) {
      if (typeof plugin[key] !== "string") {
        return refuse("module", `has no ${key} string`);
      }
    }
    if (typeof plugin.create !== "function") {
      return refuse("module", "has no create(ctx, options) function");
    }
    let problems: Problem[];
    try {
      problems = check(m.options as Record<string, unknown>);
    } catch (e) {
      problems = [{ path: "module", message: `parseOptions threw ${text(e)}` }];
    }
    if (problems.length) return { t: "refused", problems };
    return {
      t: "loaded",
      meta: {
        version: plugin.version,
        description: plugin.description,
        hooks,
      },
    };
  }

  function refuse(path: string, message: string) {
    return { t: "refused", problems: [{ path, message }] };
  }

  function context() {
    const name = String(init.name);
    const log = (level: string) => (msg: string, fields?: unknown) =>
      post({ t: "log", level, msg: String(msg), fields: fields ?? {} });
    return {
      pluginName: name,
      config: init.config,
      identity: init.identity,
      oneShot: init.oneShot === true,
      now: () => Date.now(),
      signal: abort.signal,
      log: {
        debug: log("debug"),
        info: log("info"),
        warn: log("warn"),
        error: log("error"),
      },
      requestReconcile: (reason: string) =>
        post({ t: "reconcile", reason: String(reason) }),
    };
  }

  async function handle(m: Msg): Promise<unknown> {
    switch (m.t) {
      case "create": {
        abort = new AbortController();
        instance = plugin.create(context(), options);
        for (const group of plugin.hooks as string[]) {
          if (!isMap(instance?.[group])) {
            throw new Error(`create() returned no "${group}" hooks`);
          }
        }
        await instance.start?.();
        return undefined;
      }
      case "call": {
        const hooks = instance?.[String(m.group)];
        const fn = hooks?.[String(m.method)];
        if (typeof fn !== "function") return undefined;
        return await fn.apply(hooks, m.args as unknown[]);
      }
      case "reload": {
        const problems = check(m.options as Record<string, unknown>);
        if (problems.length) {
          throw new Error(
            problems.map((p) => `${p.path}: ${p.message}`).join("; "),
          );
        }
        init = { ...init, config: m.config };
        if (typeof instance?.reload === "function") {
          await instance.reload(options, m.config);
          return undefined;
        }
        // No reload(): start it again with the new options and config.
        await handle({ t: "stop" });
        return await handle({ t: "create" });
      }
      case "stop":
        abort.abort();
        await instance?.stop?.();
        instance = undefined;
        return undefined;
    }
    throw new Error(`unknown request "${m.t}"`);
  }

  scope.onmessage = (e) => {
    const m = e.data;
    if (m.t === "init") {
      load(m).then(
        (r) => post({ ...r, id: m.id }),
        (err) => post({ ...refuse("module", text(err)), id: m.id }),
      );
      return;
    }
    const fail = (err: unknown) =>
      post({ t: "result", id: m.id, ok: false, error: text(err) });
    Promise.resolve().then(() => handle(m)).then((value) => {
      try {
        post({ t: "result", id: m.id, ok: true, value });
      } catch (err) {
        fail(`the answer cannot be sent to the agent: ${text(err)}`);
      }
    }, fail);
  };
}

/** The worker's source text, for a blob URL. */
export const WORKER_SOURCE = `(${workerMain.toString()})();\n`;
