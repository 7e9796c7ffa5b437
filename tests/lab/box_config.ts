/**
 * The site config of one lab box: the same for every mode except the
 * settings {@linkcode ModeSettings} carries.
 *
 * @module
 */
import type { ModeSettings } from "./modes.ts";
import { type BoxPlan, RELAY_LEG_PORTS } from "./plan.ts";

/** Inputs of {@linkcode renderBoxConfig}. */
export interface BoxConfigInput {
  cluster: { id: string; secret: string };
  /** `host:port` of the discovery service. */
  discovery: string;
  box: BoxPlan;
  /** Directory of the box's state, socket and log. */
  dir: string;
  mode: ModeSettings;
}

/** Renders the YAML site config of one box (wireguard-go backend). */
export function renderBoxConfig(input: BoxConfigInput): string {
  const relay = input.box.spec.relay;
  const plugins = Object.entries(input.mode.plugins)
    .map(([name, on]) => {
      const options = on
        ? name === "peer-relay" && relay
          ? {
            serve: "true",
            ports: RELAY_LEG_PORTS,
            ...(relay.maxPairs ? { maxPairs: relay.maxPairs } : {}),
            ...(relay.priority ? { priority: relay.priority } : {}),
            ...input.mode.pluginOptions[name],
          }
          : input.mode.pluginOptions[name]
        : undefined;
      if (!options) return `  ${name}: ${on}`;
      const fields = Object.entries(options).map(([k, v]) => `${k}: ${v}`);
      return `  ${name}: {enabled: true, ${fields.join(", ")}}`;
    }).join("\n");
  return `cluster:
  id: ${input.cluster.id}
  secret: ${input.cluster.secret}
discovery:
  endpoints: ["http://${input.discovery}/"]
kubespan:
  enabled: true
  harvestExtraEndpoints: ${input.mode.harvestExtraEndpoints}
node:
  stateDir: ${input.dir}/state
  hostname: ${input.box.spec.name}
wireguard:
  backend: userspace
  interface: ${input.box.wgName}
  listenPort: ${input.box.listenPort}
api:
  listen: 127.0.0.1:7443
  socket: ${input.dir}/api.sock
reconcile:
  interval: ${input.mode.reconcileInterval}
  handshakePoll: ${input.mode.handshakePoll}
log:
  format: logfmt
  level: info
plugins:
${plugins}
`;
}
