/**
 * The `node` section: the state directory, the hostname and the machine
 * fields Talos peers read.
 *
 * @module
 */
import { DEFAULT_STATE_DIR, type NodeConfig } from "../types.ts";
import type { Reader } from "../reader.ts";
import { readMachineFields } from "../machine.ts";

const KEYS = [
  "stateDir",
  "hostname",
  "machineType",
  "controlPlane",
  "apiServerPort",
] as const;

/** Reads `node`; `stateDir` must be an absolute path. */
export function readNode(r: Reader, raw: unknown): NodeConfig {
  const node = r.map(raw, "node", KEYS);
  const stateDir = r.string(node.stateDir, "node.stateDir", DEFAULT_STATE_DIR);
  if (!stateDir) r.report("node.stateDir", "must not be empty");
  else if (!stateDir.startsWith("/")) {
    r.report(
      "node.stateDir",
      `"${stateDir}" is not an absolute path; write the full path of a directory, e.g. /var/lib/edgespan`,
    );
  } else if (stateDir.includes("\0")) {
    r.report("node.stateDir", "must not contain a NUL character");
  }
  const hostname = r.string(node.hostname, "node.hostname");
  const machine = readMachineFields(r, node);
  return hostname === undefined
    ? { stateDir, ...machine }
    : { stateDir, hostname, ...machine };
}
