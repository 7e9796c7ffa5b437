/**
 * An arm64 glibc sysroot for running the aarch64 artifact under
 * `qemu-aarch64-static -L`: `libc6:arm64` and `libgcc-s1:arm64` fetched with
 * `apt-get download` and unpacked with `dpkg -x`. Nothing foreign is
 * installed, and the arm64 architecture is removed from dpkg again.
 *
 * @module
 */
import { exists } from "../../build/runtime.ts";
import { run } from "../_tools/netns.ts";

/**
 * Returns the sysroot path under `cacheDir`, creating it on first use, or a
 * string starting with "cannot" that says why it could not be made.
 */
export async function arm64Sysroot(
  cacheDir: string,
): Promise<{ path: string } | { reason: string }> {
  const root = `${cacheDir}/arm64-sysroot`;
  if (await exists(`${root}/lib/ld-linux-aarch64.so.1`)) return { path: root };
  if (Deno.uid() !== 0) {
    return { reason: "building the arm64 sysroot needs root (apt-get)" };
  }
  const debs = `${cacheDir}/arm64-sysroot-debs`;
  await Deno.mkdir(debs, { recursive: true });
  const had = (await run("dpkg", ["--print-foreign-architectures"])).stdout
    .split("\n").includes("arm64");
  try {
    if (!had) await run("dpkg", ["--add-architecture", "arm64"]);
    await run("apt-get", ["update", "-qq"]);
    const dl = await run("sh", [
      "-c",
      'cd "$1" && apt-get download libc6:arm64 libgcc-s1:arm64',
      "sh",
      debs,
    ]);
    if (dl.code !== 0) {
      return { reason: `apt-get download failed: ${dl.stderr.trim()}` };
    }
  } finally {
    if (!had) {
      await run("dpkg", ["--remove-architecture", "arm64"]);
      await run("apt-get", ["update", "-qq"]);
    }
  }
  await Deno.mkdir(root, { recursive: true });
  for await (const entry of Deno.readDir(debs)) {
    if (!entry.name.endsWith(".deb")) continue;
    const x = await run("dpkg", ["-x", `${debs}/${entry.name}`, root]);
    if (x.code !== 0) return { reason: `dpkg -x failed: ${x.stderr.trim()}` };
  }
  return await exists(`${root}/lib/ld-linux-aarch64.so.1`)
    ? { path: root }
    : { reason: "the unpacked sysroot has no ld-linux-aarch64.so.1" };
}
