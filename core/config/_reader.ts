import type { ConfigProblem } from "./types.ts";
import { closestName } from "./did_you_mean.ts";

/** A plain YAML mapping. */
export type RawMap = Record<string, unknown>;

export { isRecord as isMap } from "../encoding/record.ts";
import { isRecord as isMap } from "../encoding/record.ts";

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return `"${value}"`;
  if (typeof value === "object") return "a mapping";
  return String(value);
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
        `expected a mapping, got ${describe(value)}`,
      );
      return {};
    }
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      const hint = closestName(key, known);
      const where = path ? `${path}.${key}` : key;
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
    this.report(path, `expected a string, got ${describe(value)}`);
    return fallback;
  }

  bool(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value === "boolean") return value;
    this.report(path, `expected true or false, got ${describe(value)}`);
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
      this.report(path, `expected a whole number, got ${describe(value)}`);
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
      this.report(path, `expected a list, got ${describe(value)}`);
      return undefined;
    }
    const out: string[] = [];
    value.forEach((item, i) => {
      if (typeof item === "string") out.push(item);
      else {this.report(
          `${path}[${i}]`,
          `expected a string, got ${describe(item)}`,
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
      `${describe(value)} is not one of ${
        allowed.map((a) => `"${a}"`).join(", ")
      }`,
    );
    return fallback;
  }
}
