/**
 * Typed readers over raw YAML mappings that record a problem (with its path)
 * instead of throwing, and never echo values at secret paths.
 *
 * @module
 */
import type { ConfigProblem } from "./types.ts";
import { closestName } from "./did_you_mean.ts";

/** A plain YAML mapping. */
export type RawMap = Record<string, unknown>;

export { isRecord as isMap } from "../encoding/record.ts";
import { isRecord as isMap } from "../encoding/record.ts";

/**
 * Whether the value at a config path may be a secret, so that no message
 * ever repeats it: the cluster secret (and `cluster` itself, where a secret
 * is often pasted by mistake), the whole file (a key file given as the
 * config), and any key named like a secret, token or password.
 */
export function isSecretPath(path: string): boolean {
  if (path === "" || path === "(top level)" || path === "cluster") return true;
  const last = (path.split(".").pop() ?? "").replace(/(\[\d+\])+$/, "");
  return /(secret|token|password|passphrase|privatekey|psk)$/i.test(last);
}

/** How a value is named in a message; values at secret paths are not shown. */
export function describe(value: unknown, path?: string): string {
  if (value === null) return "null";
  if (path !== undefined && isSecretPath(path)) {
    if (typeof value === "string") return "a string (value not shown)";
    if (typeof value === "number") return "a number (value not shown)";
  }
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return `"${value}"`;
  if (typeof value === "object") return "a mapping";
  return String(value);
}

/** Base64 of 24 bytes or more: what secrets and keys look like, never a key name. */
const SECRET_LIKE = /^[A-Za-z0-9+/]{32,}={0,2}$/;

/** Shorter strings are not scrubbed from messages: they would mangle words. */
const MIN_SCRUBBED_LENGTH = 6;

/** The text values found at secret paths of a raw document (see {@linkcode isSecretPath}). */
export function secretValues(raw: unknown): string[] {
  const found = new Set<string>();
  const seen = new Set<unknown>();
  const walk = (value: unknown, path: string, depth: number): void => {
    if (typeof value === "string" || typeof value === "number") {
      const text = String(value);
      if (isSecretPath(path) && text.length >= MIN_SCRUBBED_LENGTH) {
        found.add(text);
      }
      return;
    }
    if (value === null || typeof value !== "object" || depth > 64) return;
    if (seen.has(value)) return;
    seen.add(value);
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}[${i}]`, depth + 1));
      return;
    }
    for (const [key, item] of Object.entries(value)) {
      walk(item, path ? `${path}.${key}` : key, depth + 1);
    }
  };
  walk(raw, "", 0);
  return [...found].sort((a, b) => b.length - a.length);
}

/** Replaces every secret in problem paths and messages with `(value not shown)`. */
export function redactProblems(
  problems: readonly ConfigProblem[],
  secrets: readonly string[],
): ConfigProblem[] {
  if (secrets.length === 0) return [...problems];
  const scrub = (text: string) =>
    secrets.reduce((t, s) => t.replaceAll(s, "(value not shown)"), text);
  return problems.map((p) => ({
    path: scrub(p.path),
    message: scrub(p.message),
  }));
}

/**
 * Walks raw YAML collecting every problem instead of stopping at the first,
 * so that one run of the validator tells the operator everything to fix.
 */
export class Reader {
  readonly problems: ConfigProblem[] = [];

  report(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** A mapping at `path`; reports unknown keys with a "did you mean" hint. */
  map(value: unknown, path: string, known: readonly string[]): RawMap {
    if (value === undefined || value === null) return {};
    if (!isMap(value)) {
      this.report(
        path || "(top level)",
        `expected a mapping, got ${describe(value, path)}`,
      );
      return {};
    }
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      const hint = closestName(key, known);
      // A secret pasted where a key belongs must not be repeated either.
      const shown = SECRET_LIKE.test(key) ? "(key not shown)" : key;
      const where = path ? `${path}.${shown}` : shown;
      this.report(
        where,
        hint
          ? `unknown key; did you mean "${hint}"?`
          : `unknown key; known keys here are ${known.join(", ")}`,
      );
    }
    return value;
  }

  string(value: unknown, path: string, fallback: string): string;
  string(value: unknown, path: string): string | undefined;
  string(value: unknown, path: string, fallback?: string): string | undefined {
    if (value === undefined || value === null) return fallback;
    if (typeof value === "string") return value;
    if (typeof value === "number") return String(value);
    this.report(path, `expected a string, got ${describe(value, path)}`);
    return fallback;
  }

  bool(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value === "boolean") return value;
    this.report(
      path,
      `expected true or false, got ${describe(value, path)}`,
    );
    return fallback;
  }

  int(
    value: unknown,
    path: string,
    fallback: number,
    range: { min: number; max: number; what?: string },
  ): number {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value)) {
      this.report(
        path,
        `expected a whole number, got ${describe(value, path)}`,
      );
      return fallback;
    }
    if (value < range.min) {
      this.report(path, `${value} is below the minimum ${range.min}`);
      return fallback;
    }
    if (value > range.max) {
      this.report(path, `${value} is above the maximum ${range.max}`);
      return fallback;
    }
    return value;
  }

  /** A list of strings; `undefined` when the key is absent. */
  stringList(value: unknown, path: string): string[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) {
      this.report(path, `expected a list, got ${describe(value, path)}`);
      return undefined;
    }
    const out: string[] = [];
    value.forEach((item, i) => {
      if (typeof item === "string") out.push(item);
      else {this.report(
          `${path}[${i}]`,
          `expected a string, got ${describe(item, path)}`,
        );}
    });
    return out;
  }

  /** Each item must pass `check`, which returns an error message or nothing. */
  eachItem(
    items: readonly string[] | undefined,
    path: string,
    check: (item: string) => string | undefined,
  ): void {
    items?.forEach((item, i) => {
      const message = check(item);
      if (message) this.report(`${path}[${i}]`, message);
    });
  }

  oneOf<T extends string>(
    value: unknown,
    path: string,
    allowed: readonly T[],
    fallback: T,
  ): T {
    if (value === undefined || value === null) return fallback;
    if (
      typeof value === "string" &&
      (allowed as readonly string[]).includes(value)
    ) {
      return value as T;
    }
    this.report(
      path,
      `${describe(value, path)} is not one of ${
        allowed.map((a) => `"${a}"`).join(", ")
      }`,
    );
    return fallback;
  }
}
