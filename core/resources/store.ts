/**
 * A small versioned, watchable store for the agent's resources.
 *
 * Each resource has a type, an id, a version that increases on every change
 * and a spec. Fields marked sensitive in the type's definition are redacted
 * on every read unless the caller asks for them explicitly, so the API, the
 * CLI and the logs cannot print them by accident.
 *
 * @module
 */

/** A stored resource. */
export interface Resource<S = unknown> {
  type: string;
  id: string;
  /** Starts at 1, increases on every change of the spec. */
  version: number;
  /** Milliseconds since the epoch of the last change. */
  updated: number;
  spec: S;
}

/** A change seen by watchers. */
export interface ResourceEvent<S = unknown> {
  kind: "created" | "updated" | "deleted";
  resource: Resource<S>;
}

/** A print column of the table output. */
export interface Column {
  header: string;
  /** Field path inside the spec, or `id` / `version`. */
  field: string;
  /**
   * How to show it in tables: bytes and ages are humanised there only;
   * `flag` shows whether the field is set (`yes`/`no`).
   */
  format?: "text" | "bytes" | "age" | "list" | "flag";
  /**
   * Left out of a table in which no row has a value for it (a column only
   * some plugins fill, so the KubeSpan columns stay as they are).
   * @default false
   */
  optional?: boolean;
}

/** Describes one resource type. */
export interface ResourceDefinition {
  type: string;
  /** Other names accepted on the command line (KubeSpan's included). */
  aliases: readonly string[];
  /** Dotted spec paths that must never be shown. */
  sensitive: readonly string[];
  columns: readonly Column[];
}

/** Text that stands in for a sensitive value. */
export const REDACTED = "(redacted)";

/** Options for reads. */
export interface ReadOptions {
  /** Return sensitive fields as they are. Only for the agent's own use. @default false */
  includeSensitive?: boolean;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (
    typeof a !== "object" || typeof b !== "object" || a === null || b === null
  ) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    deepEqual(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
    )
  );
}

const TOO_DEEP = Symbol("too deep");

function plainCopy(value: unknown, depth: number): unknown {
  if (typeof value !== "object" || value === null) {
    if (typeof value === "function" || typeof value === "symbol") {
      throw TOO_DEEP; // not data: let structuredClone say so
    }
    return value;
  }
  if (depth > 64) throw TOO_DEEP; // a cycle, or not spec-like data
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      if (i in value) out[i] = plainCopy(value[i], depth + 1);
    }
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw TOO_DEEP;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    const v = plainCopy((value as Record<string, unknown>)[k], depth + 1);
    if (k === "__proto__") {
      Object.defineProperty(out, k, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else out[k] = v;
  }
  return out;
}

/**
 * A deep copy, as `structuredClone` makes it. Specs are plain data (objects,
 * arrays, strings, numbers, booleans, null), which are copied in JS: several
 * times faster than `structuredClone`, which serialises through the runtime
 * and dominated the agent's CPU when plugins list resources on every pass
 * (measured: 0.54 s of 0.93 s at start-up with 64 peers). Anything else
 * (a Date, a typed array, a cycle) goes to `structuredClone`.
 */
export function cloneSpec<T>(value: T): T {
  try {
    return plainCopy(value, 0) as T;
  } catch (e) {
    if (e !== TOO_DEEP) throw e;
    return structuredClone(value);
  }
}

const clone = cloneSpec;

/** Returns a copy of `spec` with each sensitive path replaced by {@linkcode REDACTED}. */
export function redactSpec<S>(spec: S, sensitive: readonly string[]): S {
  if (sensitive.length === 0) return clone(spec);
  const copy = clone(spec) as Record<string, unknown>;
  for (const path of sensitive) {
    const parts = path.split(".");
    let node: Record<string, unknown> | undefined = copy;
    for (let i = 0; i < parts.length - 1 && node; i++) {
      const next: unknown = node[parts[i]!];
      node = typeof next === "object" && next !== null
        ? next as Record<string, unknown>
        : undefined;
    }
    const last = parts[parts.length - 1]!;
    if (node && node[last] !== undefined) node[last] = REDACTED;
  }
  return copy as S;
}

/** The store. Time is injected so tests can pin it. */
export class ResourceStore {
  readonly #defs = new Map<string, ResourceDefinition>();
  readonly #data = new Map<string, Map<string, Resource>>();
  readonly #watchers = new Set<
    { type?: string; fn: (e: ResourceEvent) => void }
  >();
  readonly #now: () => number;

  constructor(
    definitions: readonly ResourceDefinition[],
    now: () => number = Date.now,
  ) {
    for (const def of definitions) {
      this.#defs.set(def.type, def);
      this.#data.set(def.type, new Map());
    }
    this.#now = now;
  }

  /** Definitions, in registration order. */
  definitions(): ResourceDefinition[] {
    return [...this.#defs.values()];
  }

  /** Resolves a type name or alias (case-insensitive); `undefined` if unknown. */
  resolveType(name: string): ResourceDefinition | undefined {
    const lower = name.toLowerCase();
    for (const def of this.#defs.values()) {
      if (
        def.type === lower || def.aliases.some((a) => a.toLowerCase() === lower)
      ) return def;
    }
    return undefined;
  }

  #table(type: string): Map<string, Resource> {
    const table = this.#data.get(type);
    if (!table) {
      throw new RangeError(
        `Cannot use resource type "${type}": known types are ${
          [...this.#defs.keys()].join(", ")
        }`,
      );
    }
    return table;
  }

  #out<S>(r: Resource, options: ReadOptions): Resource<S> {
    const def = this.#defs.get(r.type)!;
    return {
      ...r,
      spec: options.includeSensitive
        ? clone(r.spec)
        : redactSpec(r.spec, def.sensitive),
    } as Resource<S>;
  }

  #emit(event: ResourceEvent): void {
    const def = this.#defs.get(event.resource.type)!;
    const safe = {
      ...event,
      resource: {
        ...event.resource,
        spec: redactSpec(event.resource.spec, def.sensitive),
      },
    };
    for (const w of this.#watchers) {
      if (w.type && w.type !== event.resource.type) continue;
      try {
        w.fn(safe);
      } catch {
        // A broken watcher must not break the writer.
      }
    }
  }

  /** Creates or updates; the version changes only when the spec does. */
  set<S>(type: string, id: string, spec: S): Resource<S> {
    const table = this.#table(type);
    const old = table.get(id);
    if (old && deepEqual(old.spec, spec)) return this.#out<S>(old, {});
    const r: Resource = {
      type,
      id,
      version: (old?.version ?? 0) + 1,
      updated: this.#now(),
      spec: clone(spec),
    };
    table.set(id, r);
    this.#emit({ kind: old ? "updated" : "created", resource: r });
    return this.#out<S>(r, {});
  }

  /** Deletes; returns whether it existed. */
  delete(type: string, id: string): boolean {
    const table = this.#table(type);
    const old = table.get(id);
    if (!old) return false;
    table.delete(id);
    this.#emit({ kind: "deleted", resource: old });
    return true;
  }

  /** Sets exactly these ids of a type, deleting every other one. */
  replaceAll<S>(type: string, specs: ReadonlyMap<string, S>): void {
    for (const id of [...this.#table(type).keys()]) {
      if (!specs.has(id)) this.delete(type, id);
    }
    for (const [id, spec] of specs) this.set(type, id, spec);
  }

  get<S>(
    type: string,
    id: string,
    options: ReadOptions = {},
  ): Resource<S> | undefined {
    const r = this.#table(type).get(id);
    return r ? this.#out<S>(r, options) : undefined;
  }

  /** All resources of a type, sorted by id. */
  list<S>(type: string, options: ReadOptions = {}): Resource<S>[] {
    return [...this.#table(type).values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((r) => this.#out<S>(r, options));
  }

  /** Calls `fn` on every change (of one type, if given); returns the unsubscribe function. */
  watch(fn: (event: ResourceEvent) => void, type?: string): () => void {
    if (type !== undefined) this.#table(type);
    const w = type === undefined ? { fn } : { type, fn };
    this.#watchers.add(w);
    return () => this.#watchers.delete(w);
  }

  /**
   * Async iteration over changes until `signal` aborts. Buffers at most
   * `limit` events; a consumer that falls further behind loses the oldest.
   */
  async *events(
    signal: AbortSignal,
    type?: string,
    limit = 1024,
  ): AsyncGenerator<ResourceEvent> {
    const queue: ResourceEvent[] = [];
    let wake: (() => void) | undefined;
    const stop = this.watch((e) => {
      queue.push(e);
      if (queue.length > limit) queue.shift();
      wake?.();
    }, type);
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      while (!signal.aborted) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        yield queue.shift()!;
      }
    } finally {
      stop();
      signal.removeEventListener("abort", onAbort);
    }
  }
}
