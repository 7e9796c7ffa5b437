/**
 * The service's state file: JSON written atomically (temp file + rename).
 *
 * @module
 */
import type { DiscoveryState, StateDump } from "./state.ts";

/** Writes the state to `path` atomically, mode 0600. */
export async function saveStateFile(
  path: string,
  state: DiscoveryState,
): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(state.dump()));
}

/** Writes text to `path` through a temp file and a rename. */
export async function writeFileAtomic(
  path: string,
  text: string,
): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeTextFile(tmp, text, { mode: 0o600 });
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`Cannot write "${path}": ${String(err)}`, { cause: err });
  }
}

/**
 * Loads the state file into `state`. A missing file is an empty state; a
 * damaged one is reported and ignored. Returns how many affiliates loaded.
 */
export async function loadStateFile(
  path: string,
  state: DiscoveryState,
): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw new Error(`Cannot read discovery state "${path}": ${String(err)}`, {
      cause: err,
    });
  }
  try {
    const dump = JSON.parse(text) as StateDump;
    if (dump?.version !== 1 || !Array.isArray(dump.clusters)) return 0;
    return state.restore(dump);
  } catch {
    return 0;
  }
}
