/**
 * The two lab modes as site-config settings, so that the same agents and the
 * same binary are compared and the connectivity plugins slot in later by
 * name.
 *
 * - `kubespan`: only what KubeSpan has. The KubeSpan-equivalent built-in
 *   plugins are on, every other built-in plugin is switched off, harvesting
 *   is off (KubeSpan's default since v1.7), the reconcile tick is KubeSpan's
 *   30 s, and the state machine keeps its 15 s / 275 s timers.
 * - `edgespan`: today's edgespan with every built-in plugin on (except the
 *   alternative discovery sources, which replace the discovery service),
 *   harvesting on and a 1 s reconcile tick (a site setting KubeSpan lacks).
 *   The 15 s / 275 s timers are the product's; the lab never sets the
 *   test-only `EDGESPAN_TEST_TIMERS`.
 *
 * @module
 */

/** A lab mode. */
export type LabMode = "kubespan" | "edgespan";

/** Every lab mode, in table order. */
export const LAB_MODES: readonly LabMode[] = ["kubespan", "edgespan"];

/** What the mode needs to know about a built-in plugin. */
export interface PluginInfo {
  name: string;
  /** The plugin is a source of affiliates (a discovery hook). */
  discovery: boolean;
}

/** Plugins whose behaviour is KubeSpan's own (the `kubespan` mode keeps only these). */
export const KUBESPAN_PLUGINS: readonly string[] = [
  "endpoint-filter",
  "endpoint-cycling",
  "route-advertisement",
  "down-peer-bypass",
  "discovery-service",
];

/** The site-config settings of one mode. */
export interface ModeSettings {
  /** `reconcile.interval`. */
  reconcileInterval: string;
  /** `reconcile.handshakePoll`: extra passes while handshakes are pending. */
  handshakePoll: boolean;
  /** `kubespan.harvestExtraEndpoints`. */
  harvestExtraEndpoints: boolean;
  /** The `plugins:` map: every built-in plugin switched explicitly. */
  plugins: Record<string, boolean>;
  /** Options of switched-on plugins, by plugin name. */
  pluginOptions: Record<string, Record<string, string | number>>;
}

/** Parses a `--mode` value; throws a RangeError naming the valid modes. */
export function parseMode(text: string): LabMode {
  if ((LAB_MODES as readonly string[]).includes(text)) return text as LabMode;
  throw new RangeError(
    `Unknown mode "${text}": choose one of ${LAB_MODES.join(", ")}`,
  );
}

/** The settings of `mode` given the built-in plugins of the binary under test. */
export function modeSettings(
  mode: LabMode,
  builtins: readonly PluginInfo[],
): ModeSettings {
  const plugins: Record<string, boolean> = {};
  for (const p of builtins) {
    plugins[p.name] = mode === "kubespan"
      ? KUBESPAN_PLUGINS.includes(p.name)
      // Another discovery source replaces the service the lab runs.
      : !p.discovery || p.name === "discovery-service";
  }
  return mode === "kubespan"
    ? {
      reconcileInterval: "30s",
      // KubeSpan passes on its tick and on input changes only.
      handshakePoll: false,
      harvestExtraEndpoints: false,
      plugins,
      // Talos says Hello once per connection; edgespan repeats it every 30 s.
      pluginOptions: { "discovery-service": { helloInterval: 0 } },
    }
    : {
      reconcileInterval: "1s",
      handshakePoll: true,
      harvestExtraEndpoints: true,
      plugins,
      pluginOptions: {},
    };
}
