/**
 * The service's state file: JSON written atomically (temp file + rename).
 *
 * @module
 */
import type { DiscoveryState, StateDump } from "./state.ts";
import {
  FileReadError,
  readBoundedText,
} from "../../../core/fs/read_bounded.ts";

/**
 * Largest state file read back: 4096 max-size affiliates take about 25 MiB
 * of JSON, so this leaves room for raised limits while a device or a runaway
 * file cannot fill memory.
 */
export const STATE_FILE_MAX_BYTES = 256 << 20;

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
    text = (await readBoundedText(path, { maxBytes: STATE_FILE_MAX_BYTES }))
      .text;
  } catch (err) {
    if (err instanceof FileReadError && err.reason === "missing") return 0;
    const why = err instanceof FileReadError ? err.detail : String(err);
    throw new Error(`Cannot read discovery state "${path}": ${why}`, {
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
