import { LineCounter, parseDocument } from "yaml";
import type { ConfigProblem, EdgespanConfig } from "./types.ts";
import { validateConfig, type ValidateOptions } from "./validate.ts";

/** The config file could not be used; `problems` lists every reason. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  readonly file: string;

  constructor(file: string, problems: ConfigProblem[]) {
    super(
      `Cannot use config "${file}": ${problems.length} problem${
        problems.length === 1 ? "" : "s"
      }\n` +
        problems.map((p) => `  ${p.path}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
    this.file = file;
    this.problems = problems;
  }
}

/** Parses YAML text and validates it; syntax errors are problems with a line number. */
export function parseConfigText(
  text: string,
  file: string,
  options: ValidateOptions = {},
): EdgespanConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    prettyErrors: false,
    uniqueKeys: true,
    lineCounter: lines,
  });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: `line ${lines.linePos(e.pos[0]).line}`,
        message: `YAML syntax: ${e.message.split("\n")[0]}`,
      })),
    );
  }
  const result = validateConfig(doc.toJS(), options);
  if (!result.ok) throw new ConfigError(file, result.problems);
  return result.config;
}

/** Reads and validates a config file. Reads only; never changes anything. */
export async function loadConfig(
  file: string,
  options: ValidateOptions = {},
): Promise<EdgespanConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "the file does not exist (create one with `edgespan gen config > FILE`)"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (e as Error).message;
    throw new ConfigError(file, [{ path: "(file)", message: why }]);
  }
  return parseConfigText(text, file, options);
}
