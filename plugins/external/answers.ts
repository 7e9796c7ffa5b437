/**
 * The answers a sandboxed plugin gave to its synchronous hooks, by input.
 * A synchronous hook cannot wait for a worker: it is answered from the
 * latest answer for the same input, and every call asks the worker again
 * in the background; an answer that differs from the cached one asks the
 * agent for another pass.
 *
 * @module
 */

/** One cached answer, with the input it was given. */
export interface Answer {
  group: string;
  method: string;
  args: unknown[];
  /** The value, or the message of what the plugin threw. */
  outcome: { ok: true; value: unknown } | { ok: false; error: string };
  /** {@linkcode stableKey} of the outcome, to tell a change. */
  signature: string;
}

/**
 * A key for any plain value: objects with sorted keys, `Set`s and `Map`s
 * as sorted entries, so that equal inputs give equal keys.
 */
export function stableKey(value: unknown): string {
  if (value instanceof Set) {
    return `Set(${[...value].map(stableKey).sort().join(",")})`;
  }
  if (value instanceof Map) {
    return `Map(${
      [...value].map(([k, v]) => `${stableKey(k)}=>${stableKey(v)}`).sort()
        .join(",")
    })`;
  }
  if (Array.isArray(value)) return `[${value.map(stableKey).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${
      entries.map(([k, v]) => `${JSON.stringify(k)}:${stableKey(v)}`).join(",")
    }}`;
  }
  return value === undefined ? "undefined" : JSON.stringify(value) ?? "null";
}

/**
 * The part of a hook's input its answer is keyed by: the input without
 * its pass context (`pass`: the pass number and time). The bypass decision
 * sees live statuses whose counters change every pass: it is keyed by what
 * a bypass decision can depend on (peer, state, prefixes).
 */
export function inputKey(
  group: string,
  method: string,
  args: readonly unknown[],
): string {
  if (group === "downPeerBypass" && Array.isArray(args[0])) {
    const views = args[0] as {
      publicKey: string;
      spec: { allowedIPs: string[] };
      status?: { state: string };
    }[];
    return `${group}.${method}:${
      stableKey(views.map((v) => [
        v.publicKey,
        v.status?.state ?? "unknown",
        v.spec.allowedIPs,
      ]))
    }`;
  }
  // An endpoint hook's pass context (pass number, time) is new every pass.
  const stable = args.map((a) => {
    if (typeof a !== "object" || a === null || !("pass" in a)) return a;
    const { pass: _pass, ...rest } = a as Record<string, unknown>;
    return rest;
  });
  return `${group}.${method}:${stableKey(stable)}`;
}

/** A bounded map of answers, least recently used out first. */
export class AnswerCache {
  readonly #entries = new Map<string, Answer>();
  readonly #max: number;

  constructor(max = 4096) {
    this.#max = max;
  }

  get(key: string): Answer | undefined {
    const entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /** Stores an answer; true when it differs from the one before (or is new). */
  set(key: string, answer: Answer): boolean {
    const before = this.#entries.get(key);
    this.#entries.delete(key);
    this.#entries.set(key, answer);
    while (this.#entries.size > this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    return before?.signature !== answer.signature;
  }

  entries(): [string, Answer][] {
    return [...this.#entries];
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
