/**
 * Installs missing Debian packages for the demo (as root, with apt-get),
 * printing what it does. Anything else is the operator's call.
 *
 * @module
 */

async function installed(pkg: string): Promise<boolean> {
  const out = await new Deno.Command("dpkg-query", {
    args: ["-W", "-f=${Status}", pkg],
    stdout: "piped",
    stderr: "null",
  })
    .output().catch(() => undefined);
  return !!out &&
    new TextDecoder().decode(out.stdout).includes("install ok installed");
}

/** Installs the packages that are missing; throws with apt's message on failure. */
export async function ensureDebianPackages(
  packages: readonly string[],
  say: (line: string) => void,
): Promise<void> {
  const missing: string[] = [];
  for (const p of packages) if (!(await installed(p))) missing.push(p);
  if (missing.length === 0) return;
  if (Deno.uid() !== 0) {
    throw new Error(
      `Missing Debian packages: ${missing.join(" ")} (install them as root)`,
    );
  }
  say(`installing Debian packages: ${missing.join(" ")} ...`);
  const run = async (args: string[]) => {
    const out = await new Deno.Command("apt-get", {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `apt-get ${args[0]} failed: ${
          new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)
        }`,
      );
    }
  };
  await run(["update", "-qq"]);
  await run(["install", "-y", "-qq", "--no-install-recommends", ...missing]);
}
