import { assertEquals, assertThrows } from "../../_tools/assert.ts";
import { parseArgs as nodeParseArgs } from "node:util";
import {
  ArgsError,
  type OptionSpecs,
  parseArgs,
} from "../../../core/args/parse_args.ts";

const OPTIONS: OptionSpecs = {
  config: { type: "string", short: "c" },
  output: { type: "string", short: "o" },
  listen: { type: "string" },
  watch: { type: "boolean", short: "w" },
  help: { type: "boolean", short: "h" },
  "trust-proxy": { type: "boolean" },
};

// Each vector: what the CLI may be given, good and bad.
const VECTORS: string[][] = [
  [],
  ["get", "peers"],
  ["-c", "a.yaml", "get"],
  ["--config", "a.yaml"],
  ["--config=a.yaml", "x"],
  ["--config=", "x"],
  ["-ca.yaml"],
  ["-hw"],
  ["-wc", "f"],
  ["-whcfile"],
  ["-cw"],
  ["--watch", "--watch"],
  ["-c", "a", "-c", "b"],
  ["--", "--config", "-h"],
  ["-"],
  ["-c", "-"],
  ["--config"],
  ["-c"],
  ["-wc"],
  ["--config", "--watch"],
  ["-c", "-x"],
  ["-wc", "--x"],
  ["--config", "--"],
  ["--outptu", "json"],
  ["--outptu=json"],
  ["-x"],
  ["-hx"],
  ["-h=x"],
  ["--help=yes"],
  ["--trust-proxy=1"],
  ["--=x"],
  ["-1"],
  ["x", "--bogus"],
  ["--listen", "[::1]:3000", "--trust-proxy"],
  ["--__proto__"],
  ["--toString", "x"],
];

type Outcome = { ok: unknown } | { error: string };

function outcome(f: () => unknown): Outcome {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

for (const allowPositionals of [true, false]) {
  Deno.test(`parseArgs gives what node:util parseArgs gives, strict, allowPositionals ${allowPositionals}`, () => {
    for (const args of VECTORS) {
      const ours = outcome(() => {
        const r = parseArgs({ args, options: OPTIONS, allowPositionals });
        return { values: { ...r.values }, positionals: r.positionals };
      });
      const node = outcome(() => {
        const r = nodeParseArgs({
          args,
          options: OPTIONS,
          allowPositionals,
          strict: true,
        });
        return { values: { ...r.values }, positionals: r.positionals };
      });
      assertEquals(ours, node, JSON.stringify(args));
    }
  });
}

Deno.test("parseArgs throws ArgsError, and values have no prototype", () => {
  assertThrows(
    () => parseArgs({ args: ["--nope"], options: OPTIONS }),
    ArgsError,
    "Unknown option '--nope'",
  );
  const { values } = parseArgs({ args: [], options: OPTIONS });
  assertEquals(Object.getPrototypeOf(values), null);
  assertEquals(values.toString, undefined);
});
