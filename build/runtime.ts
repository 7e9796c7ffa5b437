/**
 * Finds the Deno runtime of each target: the npm platform packages
 * `@deno/linux-x64-glibc` / `@deno/linux-arm64-glibc` at the version of
 * package.json's `deno`, and a genuine `denort` when one is available.
 *
 * @module
 */

/** A build target. */
export interface Target {
  /** `x86_64` or `aarch64`, as in the artifact name. */
  arch: "x86_64" | "aarch64";
  /** npm platform package holding `deno`. */
  npmPackage: string;
  /** Rust target triple, for `deno compile --target`. */
  triple: string;
}

/** The two targets. */
export const TARGETS: readonly Target[] = [
  {
    arch: "x86_64",
    npmPackage: "@deno/linux-x64-glibc",
    triple: "x86_64-unknown-linux-gnu",
  },
  {
    arch: "aarch64",
    npmPackage: "@deno/linux-arm64-glibc",
    triple: "aarch64-unknown-linux-gnu",
  },
];

/** The runtime could not be found or fetched. */
export class RuntimeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RuntimeError";
  }
}

/** Whether `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new RuntimeError(
      `Cannot run "${cmd} ${args.join(" ")}": ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
}

/** The `deno` version package.json pins. */
export async function pinnedDenoVersion(root: string): Promise<string> {
  const pkg = JSON.parse(await Deno.readTextFile(`${root}/package.json`)) as {
    devDependencies?: Record<string, string>;
  };
  const v = pkg.devDependencies?.deno;
  if (!v || !/^\d+\.\d+\.\d+$/.test(v)) {
    throw new RuntimeError(
      `Cannot find an exact "deno" version in ${root}/package.json devDependencies`,
    );
  }
  return v;
}

/**
 * Path of the `deno` executable for `target`: from node_modules when the
 * installed package has the pinned version, else from `npm pack` into
 * `cacheDir` (fetched once).
 */
export async function denoRuntime(
  target: Target,
  version: string,
  root: string,
  cacheDir: string,
): Promise<string> {
  const installed = `${root}/node_modules/${target.npmPackage}`;
  try {
    const pkg = JSON.parse(
      await Deno.readTextFile(`${installed}/package.json`),
    ) as { version: string };
    if (pkg.version === version && await exists(`${installed}/deno`)) {
      return `${installed}/deno`;
    }
  } catch {
    // Not installed for this platform: fetch it below.
  }
  const dir = `${cacheDir}/${target.npmPackage.replace("/", "+")}-${version}`;
  const binary = `${dir}/package/deno`;
  if (await exists(binary)) return binary;
  await Deno.mkdir(dir, { recursive: true });
  const tgz = `${
    target.npmPackage.replace("@", "").replace("/", "-")
  }-${version}.tgz`;
  if (!await exists(`${cacheDir}/${tgz}`)) {
    await run("npm", [
      "pack",
      "--silent",
      `${target.npmPackage}@${version}`,
    ], cacheDir);
  }
  await run("tar", ["-xzf", `${cacheDir}/${tgz}`, "-C", dir], cacheDir);
  await Deno.chmod(binary, 0o755);
  return binary;
}

/**
 * A genuine `denort` for `target`, if one is available: `$DENORT_BIN` (only
 * for the host's own target) or the zip `deno compile` looks for in Deno's
 * cache (`$DENO_DIR/dl/release/v<version>/denort-<triple>.zip`).
 */
export async function findDenort(
  target: Target,
  version: string,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Promise<string | undefined> {
  const bin = env("DENORT_BIN");
  const hostArch = Deno.build.arch === "x86_64" ? "x86_64" : "aarch64";
  if (bin && target.arch === hostArch && await exists(bin)) return bin;
  const home = env("HOME") ?? "";
  const denoDir = env("DENO_DIR") ?? `${home}/.cache/deno`;
  const zip = `${denoDir}/dl/release/v${version}/denort-${target.triple}.zip`;
  return await exists(zip) ? zip : undefined;
}
