/**
 * Keeps the CPU-heavy tests of this folder from running at the same time
 * under `deno test --parallel` (the flood test measures latency; the etcd
 * tests run etcd members and replica processes): an exclusive `flock` on a
 * file in `.cache/`, released when `fn` ends or the process dies.
 *
 * @module
 */

const DIR = new URL("../../../.cache/", import.meta.url).pathname;

/** Runs `fn` while holding the lock `name` (waits for other holders). */
export async function exclusive<T>(
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  await Deno.mkdir(DIR, { recursive: true });
  const file = await Deno.open(`${DIR}${name}.lock`, {
    create: true,
    write: true,
  });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close(); // closing drops the lock
  }
}
