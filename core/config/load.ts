/**
 * Loads a site config file: a bounded read, YAML with alias and nesting
 * limits, then validation; every problem with its field path and line.
 *
 * @module
 */
import { LineCounter, parseDocument } from "yaml";
import type { ConfigProblem, EdgespanConfig } from "./types.ts";
import { validateConfig, type ValidateOptions } from "./validate.ts";
import { aliasProblem, MAX_ALIAS_EXPANSION } from "./_alias_limit.ts";
import { FileReadError, readBoundedText } from "../fs/read_bounded.ts";

/** Largest config file accepted: a real one is a few KiB. */
export const MAX_CONFIG_BYTES = 1 << 20;

/** Syntax errors listed at most; the rest are counted. */
const MAX_SYNTAX_PROBLEMS = 10;

/**
 * The YAML parser spends about 1 KiB per nesting level (and a stack
 * overflow error per level past its depth), so 1 MiB of `[` costs it 1 GiB.
 * A config nests a handful of levels: refuse more `[`/`{` than any config
 * has (an upper bound of the flow depth that quoting cannot hide), and long
 * same-line block chains such as `- - - - x`.
 */
const MAX_FLOW_OPENERS = 10_000;
const COMPACT_CHAIN = /^[ \t]*(?:[-?][ \t]+){1000,}/m;

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < index;) {
    line++;
    i = text.indexOf("\n", i + 1);
  }
  return line;
}

/** Nesting the parser would choke on, found by a linear scan of the text. */
function nestingProblem(text: string): ConfigProblem | undefined {
  let openers = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c === 0x5b || c === 0x7b) && ++openers > MAX_FLOW_OPENERS) {
      return {
        path: `line ${lineAt(text, i)}`,
        message:
          `more than ${MAX_FLOW_OPENERS} "[" and "{" in one config (a nesting bomb?); write lists in block style`,
      };
    }
  }
  const chain = COMPACT_CHAIN.exec(text);
  if (chain) {
    return {
      path: `line ${lineAt(text, chain.index)}`,
      message:
        'more than 1000 nested "- " on one line (a nesting bomb?); a config nests a few levels',
    };
  }
  return undefined;
}

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

function syntaxProblems(
  errors: readonly { pos: [number, number]; message: string }[],
  lines: LineCounter,
): ConfigProblem[] {
  const seen = new Set<string>();
  const out: ConfigProblem[] = [];
  for (const e of errors) {
    const problem = {
      path: `line ${lines.linePos(e.pos[0]).line}`,
      message: `YAML syntax: ${e.message.split("\n")[0]}`,
    };
    if (seen.has(problem.message)) continue; // e.g. one per nesting level
    seen.add(problem.message);
    out.push(problem);
  }
  if (out.length > MAX_SYNTAX_PROBLEMS) {
    const more = out.length - MAX_SYNTAX_PROBLEMS;
    out.length = MAX_SYNTAX_PROBLEMS;
    out.push({ path: "(file)", message: `${more} more YAML syntax errors` });
  }
  return out;
}

/**
 * Parses YAML text and validates it; syntax errors and alias bombs are
 * problems with a line number.
 */
export function parseConfigText(
  text: string,
  file: string,
  options: ValidateOptions = {},
): EdgespanConfig {
  const lines = new LineCounter();
  let raw: unknown;
  const nesting = nestingProblem(text);
  if (nesting) throw new ConfigError(file, [nesting]);
  try {
    const doc = parseDocument(text, {
      prettyErrors: false,
      uniqueKeys: true,
      lineCounter: lines,
    });
    if (doc.errors.length > 0) {
      throw new ConfigError(file, syntaxProblems(doc.errors, lines));
    }
    const aliases = aliasProblem(doc, lines);
    if (aliases) throw new ConfigError(file, [aliases]);
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // The parser's own limits (stack depth, alias count) as a last resort.
    throw new ConfigError(file, [{
      path: "(file)",
      message: `YAML cannot be read: ${
        (e as Error).message.split("\n")[0]
      }; simplify the file`,
    }]);
  }
  const result = validateConfig(raw, options);
  if (!result.ok) throw new ConfigError(file, result.problems);
  return result.config;
}

function fileProblem(e: FileReadError): string {
  switch (e.reason) {
    case "missing":
      return `${e.detail} (create one with \`edgespan gen config > FILE\`)`;
    case "too_large":
      return `${e.detail}; a config is a few KiB, so check that --config names the YAML file`;
    case "not_regular":
    case "not_text":
    case "symlink":
      return `${e.detail}; point --config at the YAML file`;
    default:
      return e.detail;
  }
}

/**
 * Reads and validates a config file. Reads only; never changes anything.
 * Refuses anything that is not a regular file of at most 1 MiB (a FIFO or
 * `/dev/zero` would otherwise hang or fill memory).
 *
 * @example Loading a file, and what a mistake looks like
 * ```ts
 * import { rejects, strictEqual } from "node:assert";
 * import { ConfigError, loadConfig } from "./load.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const secret = btoa("k".repeat(32));
 * await Deno.writeTextFile(
 *   `${dir}/config.yaml`,
 *   `cluster: { id: demo, secret: "${secret}" }\nnode: { stateDir: ${dir} }\n`,
 * );
 * const config = await loadConfig(`${dir}/config.yaml`);
 * strictEqual(config.cluster.id, "demo");
 *
 * await Deno.writeTextFile(`${dir}/bad.yaml`, "kubespan: { mtu: 9 }\n");
 * // Every problem with its path, in one error.
 * await rejects(loadConfig(`${dir}/bad.yaml`), ConfigError);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadConfig(
  file: string,
  options: ValidateOptions = {},
): Promise<EdgespanConfig> {
  let text: string;
  try {
    text = (await readBoundedText(file, { maxBytes: MAX_CONFIG_BYTES })).text;
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    throw new ConfigError(file, [{ path: "(file)", message: fileProblem(e) }]);
  }
  const config = parseConfigText(text, file, options);
  const problems = [
    await stateDirProblem(config.node.stateDir),
    ...await servePathProblems(config),
  ].filter((p): p is ConfigProblem => p !== undefined);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}

/**
 * The embedded discovery service's files: the TLS pair must be regular
 * files of at most 1 MiB, and a state file that exists must be a regular
 * file (a FIFO or a device there would hang or flood the service).
 */
async function servePathProblems(
  config: EdgespanConfig,
): Promise<(ConfigProblem | undefined)[]> {
  const serve = config.discovery.serve;
  if (!serve) return [];
  const check = async (
    key: "tlsCert" | "tlsKey" | "stateFile",
    mustExist: boolean,
  ): Promise<ConfigProblem | undefined> => {
    const path = serve[key];
    if (path === undefined) return undefined;
    const where = `discovery.serve.${key}`;
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound && !mustExist) return undefined;
      return {
        path: where,
        message: e instanceof Deno.errors.NotFound
          ? `"${path}" does not exist`
          : `cannot read "${path}": ${(e as Error).message}`,
      };
    }
    if (!info.isFile) {
      return {
        path: where,
        message: `"${path}" is not a regular file; ${
          key === "stateFile"
            ? "name a file the service may replace"
            : "name the PEM file"
        }`,
      };
    }
    if (mustExist && info.size > MAX_CONFIG_BYTES) {
      return {
        path: where,
        message:
          `"${path}" is ${info.size} bytes, more than 1 MiB; name the PEM file`,
      };
    }
    return undefined;
  };
  return [
    await check("tlsCert", true),
    await check("tlsKey", true),
    await check("stateFile", false),
  ];
}

/**
 * Whether `node.stateDir` can be a directory: it is one, or its nearest
 * existing ancestor is one (the agent creates the rest).
 */
export async function stateDirProblem(
  dir: string,
): Promise<ConfigProblem | undefined> {
  let path = dir;
  for (;;) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (e) {
      const absent = e instanceof Deno.errors.NotFound ||
        e instanceof Deno.errors.NotADirectory;
      if (absent && path !== "/") {
        path = path.replace(/\/+[^/]*\/*$/, "") || "/";
        continue;
      }
      return {
        path: "node.stateDir",
        message: `cannot check "${path}": ${(e as Error).message}`,
      };
    }
    if (info.isDirectory) return undefined;
    return {
      path: "node.stateDir",
      message: path === dir
        ? `"${dir}" is not a directory; choose a directory such as /var/lib/edgespan`
        : `"${path}" is not a directory, so "${dir}" cannot be created; choose a directory such as /var/lib/edgespan`,
    };
  }
}
