/**
 * The `node` fields that say what kind of machine this is to Talos peers:
 * `machineType`, `controlPlane` and `apiServerPort`, kept consistent the way
 * Talos keeps them (control-plane data only on `controlplane`/`init`).
 *
 * @module
 */
import type { MachineType } from "./types.ts";
import type { RawMap, Reader } from "./reader.ts";

/** Machine types Talos accepts in `machine.type`. */
export const MACHINE_TYPES: readonly MachineType[] = [
  "worker",
  "controlplane",
  "init",
];

/** Talos's default local API server port. */
export const DEFAULT_API_SERVER_PORT = 6443;

/** The validated machine fields of `node`. */
export interface MachineFields {
  machineType: MachineType;
  controlPlane: boolean;
  apiServerPort: number;
}

/** Whether Talos treats the machine type as a control-plane machine. */
export function isControlPlaneType(type: MachineType): boolean {
  return type === "controlplane" || type === "init";
}

/**
 * Reads `node.machineType`, `node.controlPlane` and `node.apiServerPort`.
 * Each defaults from the other: `controlPlane: true` alone makes a
 * `controlplane` machine, a `controlplane`/`init` machine publishes
 * control-plane data unless `controlPlane: false`; a worker with
 * `controlPlane: true` is rejected.
 */
export function readMachineFields(r: Reader, node: RawMap): MachineFields {
  const given = node.controlPlane ?? undefined;
  const explicit = given === undefined
    ? undefined
    : r.bool(given, "node.controlPlane", false);
  const machineType = r.oneOf(
    node.machineType,
    "node.machineType",
    MACHINE_TYPES,
    explicit ? "controlplane" : "worker",
  );
  const controlPlane = explicit ?? isControlPlaneType(machineType);
  if (controlPlane && !isControlPlaneType(machineType)) {
    r.report(
      "node.controlPlane",
      `true needs node.machineType "controlplane" or "init" (it is "${machineType}"); Talos publishes control-plane data only for those`,
    );
  }
  const apiServerPort = r.int(
    node.apiServerPort,
    "node.apiServerPort",
    DEFAULT_API_SERVER_PORT,
    { min: 1, max: 65535 },
  );
  return { machineType, controlPlane, apiServerPort };
}
