/**
 * Validation of a raw config document: {@linkcode validateConfig} walks the
 * sections in file order, one reader per section (`validate/<section>.ts`),
 * and returns either a config or every problem found, secrets scrubbed.
 *
 * @module
 */
import type { ConfigProblem, EdgespanConfig } from "./types.ts";
import { Reader, redactProblems, secretValues } from "./reader.ts";
import { readCluster } from "./validate/cluster.ts";
import { readDiscovery } from "./validate/discovery.ts";
import { readKubeSpan } from "./validate/kubespan.ts";
import { readNode } from "./validate/node.ts";
import { readWireGuard } from "./validate/wireguard.ts";
import { readAdvertise } from "./validate/advertise.ts";
import { readApi } from "./validate/api.ts";
import { readLog, readReconcile } from "./validate/runtime.ts";
import { type KnownPlugin, readPlugins } from "./validate/plugins.ts";

export type { KnownPlugin };

/** Options for {@linkcode validateConfig}. */
export interface ValidateOptions {
  /** Plugins the binary knows; entries for any other name are an error. @default [] */
  plugins?: readonly KnownPlugin[];
}

/** Outcome of validation: a config only when there are no problems. */
export type ValidationResult =
  | { ok: true; config: EdgespanConfig }
  | { ok: false; problems: ConfigProblem[] };

const TOP_KEYS = [
  "cluster",
  "discovery",
  "kubespan",
  "node",
  "wireguard",
  "advertise",
  "api",
  "reconcile",
  "log",
  "plugins",
] as const;

/**
 * Validates raw YAML into an {@linkcode EdgespanConfig}, collecting every
 * problem with its field path. Pure: reads nothing and changes nothing.
 *
 * @example Reading a minimal config
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { validateConfig } from "./validate.ts";
 *
 * const result = validateConfig({
 *   cluster: { id: "demo", secret: btoa("k".repeat(32)) },
 * });
 * if (!result.ok) throw new Error(result.problems[0]?.message);
 * strictEqual(result.config.wireguard.interface, "kubespan");
 * ```
 */
export function validateConfig(
  raw: unknown,
  options: ValidateOptions = {},
): ValidationResult {
  const r = new Reader();
  const top = r.map(raw, "", TOP_KEYS);
  if (raw === undefined || raw === null) {
    r.report(
      "(top level)",
      "the file is empty; start from `edgespan gen config`",
    );
  }
  // Section order is the order problems are listed in: keep it.
  const cluster = readCluster(r, top.cluster);
  const discovery = readDiscovery(r, top.discovery);
  const kubespan = readKubeSpan(r, top.kubespan);
  const node = readNode(r, top.node);
  const wireguard = readWireGuard(r, top.wireguard);
  const advertise = readAdvertise(r, top.advertise);
  const api = readApi(r, top.api);
  const reconcile = readReconcile(r, top.reconcile);
  const log = readLog(r, top.log);
  const plugins = readPlugins(
    r,
    top.plugins,
    options.plugins ?? [],
    node.stateDir,
  );
  if (r.problems.length > 0) {
    return {
      ok: false,
      problems: redactProblems(r.problems, secretValues(raw)),
    };
  }
  const config: EdgespanConfig = {
    cluster,
    discovery,
    kubespan,
    node,
    wireguard,
    advertise,
    api,
    reconcileIntervalMs: reconcile.intervalMs,
    handshakePoll: reconcile.handshakePoll,
    log,
    plugins,
  };
  return { ok: true, config };
}
