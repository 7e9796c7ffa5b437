/**
 * Command-line options, parsed the way `node:util`'s `parseArgs` does in
 * strict mode (the subset edgespan uses: string and boolean options, short
 * letters, positionals, `--`), with the same error messages, so that the
 * CLI does not load Deno's Node compatibility layer just to read its
 * arguments.
 *
 * Accepted: `--name value`, `--name=value`, `-n value`, `-nvalue`, grouped
 * short booleans (`-hv`), `--` (everything after it is positional) and a
 * lone `-` (positional). A repeated option keeps its last value.
 *
 * @module
 */

/** One option: a value-taking string or a flag. */
export interface OptionSpec {
  type: "string" | "boolean";
  /** One letter, used as `-x`. */
  short?: string;
}

/** The options a command knows, by long name. */
export type OptionSpecs = Record<string, OptionSpec>;

/** What {@linkcode parseArgs} is given. */
export interface ParseArgsConfig<T extends OptionSpecs = OptionSpecs> {
  args: string[];
  options: T;
  /** Accept arguments that are not options. @default false */
  allowPositionals?: boolean;
}

/** The value of one option: a string for a string option, `true` for a flag. */
export type OptionValue<S extends OptionSpec> = S["type"] extends "string"
  ? string
  : boolean;

/** What was parsed: option values by long name, and the positionals in order. */
export interface ParsedArgs<T extends OptionSpecs = OptionSpecs> {
  values: { [K in keyof T]?: OptionValue<T[K]> };
  positionals: string[];
}

/** The arguments do not fit the options; the message says which one and how. */
export class ArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArgsError";
  }
}

function unknown(flag: string, allowPositionals: boolean): ArgsError {
  return new ArgsError(
    allowPositionals
      ? `Unknown option '${flag}'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- "${flag}"`
      : `Unknown option '${flag}'`,
  );
}

const display = (name: string, spec: OptionSpec) =>
  spec.short ? `-${spec.short}, --${name}` : `--${name}`;

/**
 * Parses `args` against `options` (strict: an unknown option, a missing or
 * unexpected value, or a positional where none is allowed is an error).
 *
 * @throws {ArgsError} with the message `node:util` gives for the same mistake
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { parseArgs } from "./parse_args.ts";
 *
 * const { values, positionals } = parseArgs({
 *   args: ["-c", "a.yaml", "--watch", "peers"],
 *   options: { config: { type: "string", short: "c" }, watch: { type: "boolean" } },
 *   allowPositionals: true,
 * });
 * deepStrictEqual({ ...values }, { config: "a.yaml", watch: true });
 * deepStrictEqual(positionals, ["peers"]);
 * ```
 */
export function parseArgs<const T extends OptionSpecs>(
  config: ParseArgsConfig<T>,
): ParsedArgs<T> {
  const { args, options } = config;
  const allowPositionals = config.allowPositionals ?? false;
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(options)) {
    if (spec.short) byShort.set(spec.short, name);
  }
  const values: Record<string, string | boolean | undefined> = Object.create(
    null,
  );
  const positionals: string[] = [];
  const positional = (arg: string) => {
    if (!allowPositionals) {
      throw new ArgsError(
        `Unexpected argument '${arg}'. This command does not take positional arguments`,
      );
    }
    positionals.push(arg);
  };
  const known = (name: string): OptionSpec | undefined =>
    Object.hasOwn(options, name) ? options[name] : undefined;

  // Stores an option; `inline` is a value given with `=` or glued to a short letter.
  const store = (
    raw: string,
    name: string,
    spec: OptionSpec,
    inline: string | undefined,
    next: () => string | undefined,
  ) => {
    if (spec.type === "boolean") {
      if (inline !== undefined) {
        throw new ArgsError(
          `Option '${display(name, spec)}' does not take an argument`,
        );
      }
      values[name] = true;
      return;
    }
    if (inline !== undefined) {
      values[name] = inline;
      return;
    }
    const value = next();
    if (value === undefined) {
      throw new ArgsError(
        `Option '${display(name, spec)} <value>' argument missing`,
      );
    }
    if (value.length > 1 && value.startsWith("-")) {
      const example = raw.startsWith("--")
        ? `'${raw}=-XYZ'`
        : `'--${name}=-XYZ' or '${raw}-XYZ'`;
      throw new ArgsError(
        `Option '${raw}' argument is ambiguous.\nDid you forget to specify the option argument for '${raw}'?\nTo specify an option argument starting with a dash use ${example}.`,
      );
    }
    values[name] = value;
  };

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = () => (i + 1 < args.length ? args[++i] : undefined);
    if (arg === "--") {
      for (const rest of args.slice(i + 1)) positional(rest);
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=", 3); // "--=x" names the option "=x"
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const spec = known(name);
      const raw = eq === -1 ? arg : arg.slice(0, eq);
      if (!spec) throw unknown(raw, allowPositionals);
      store(raw, name, spec, eq === -1 ? undefined : arg.slice(eq + 1), next);
      continue;
    }
    if (arg.length < 2 || !arg.startsWith("-")) {
      positional(arg);
      continue;
    }
    // Short options: `-x`, `-xvalue`, or a group of flags `-abc`.
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j]!;
      const name = byShort.get(letter);
      if (name === undefined) throw unknown(`-${letter}`, allowPositionals);
      const spec = options[name]!;
      if (spec.type === "string") {
        const rest = arg.slice(j + 1);
        store(`-${letter}`, name, spec, rest === "" ? undefined : rest, next);
        break;
      }
      store(`-${letter}`, name, spec, undefined, next);
    }
  }
  return { values: values as ParsedArgs<T>["values"], positionals };
}
