/**
 * The one subprocess runner of the build scripts, the demo and the tests:
 * runs a command to completion and collects its output. The product never
 * shells out; only tooling uses this.
 *
 * @example Running a command
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { run, runOk } from "./run.ts";
 *
 * const echoed = await runOk("sh", ["-c", "cat"], { stdin: "hello" });
 * strictEqual(echoed, "hello");
 * const missing = await run("sh", ["-c", "exit 3"]);
 * strictEqual(missing.code, 3);
 * ```
 *
 * @module
 */

/** Result of running a command. */
export interface RunResult {
  /** Exit code; 127 when the command could not be started. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@linkcode run} and {@linkcode runOk}. */
export interface RunOptions {
  /** Text or bytes written to the command's stdin. @default no stdin */
  stdin?: string | Uint8Array;
  /** Working directory. @default this process's */
  cwd?: string;
  /** Extra environment variables. @default none */
  env?: Record<string, string>;
}

/** Runs a command and collects its output; never throws on a non-zero exit. */
export async function run(
  cmd: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const dec = new TextDecoder();
  try {
    const child = new Deno.Command(cmd, {
      args: [...args],
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.env ? { env: options.env } : {}),
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (options.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(
        typeof options.stdin === "string"
          ? new TextEncoder().encode(options.stdin)
          : options.stdin,
      );
      await w.close();
    }
    const out = await child.output();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } catch (err) {
    return { code: 127, stdout: "", stderr: String(err) };
  }
}

/** Runs a command and returns its stdout; throws with its stderr when it fails. */
export async function runOk(
  cmd: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) {
    throw new Error(
      `Command failed: ${cmd} ${
        args.join(" ")
      }: exit ${r.code}: ${r.stderr.trim()}`,
    );
  }
  return r.stdout;
}
