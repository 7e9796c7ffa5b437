/**
 * The agent as the shipped single file runs it (`build/stub.ts`): the
 * program bundled into one JS file, started with the same flags, warmed
 * once so V8's code cache is filled as on a box after its first start.
 *
 * @module
 */
import { bundle } from "../../build/build.ts";
import { runOk } from "../../build/run.ts";
import { V8_FLAGS } from "../../core/runtime_flags.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Bundles main.ts once per benchmark run; returns the command line before the subcommand. */
export async function bundledCommand(): Promise<string[]> {
  const dir = `${ROOT}.cache/bench`;
  await Deno.mkdir(dir, { recursive: true });
  const out = `${dir}/edgespan.js`;
  await bundle(ROOT, `${ROOT}main.ts`, out);
  const command = [
    Deno.execPath(),
    "run",
    `--v8-flags=${V8_FLAGS}`,
    "--no-prompt",
    "--no-config",
    "--no-lock",
    "--no-remote",
    "--no-npm",
    "--cached-only",
    "-A",
    out,
  ];
  await runOk(command[0]!, [...command.slice(1), "version"]);
  return command;
}
