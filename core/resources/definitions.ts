/**
 * The resource types the agent keeps (identity, affiliates, peer specs and
 * statuses, endpoints, config, plugins) and their print columns.
 *
 * @module
 */
import type { ResourceDefinition } from "./store.ts";

/** Resource type names. */
export const ResourceType = {
  identity: "identity",
  affiliates: "affiliates",
  peerspecs: "peerspecs",
  peerstatuses: "peerstatuses",
  endpoints: "endpoints",
  config: "config",
  plugins: "plugins",
  relaypairs: "relaypairs",
} as const;

/** Every resource type the agent keeps, with KubeSpan's aliases and print columns. */
export const RESOURCE_DEFINITIONS: readonly ResourceDefinition[] = [
  {
    type: ResourceType.identity,
    aliases: ["identities", "kubespanidentities", "kubespanidentity", "ksi"],
    sensitive: ["privateKey"],
    columns: [
      { header: "ADDRESS", field: "address" },
      { header: "PUBLICKEY", field: "publicKey" },
    ],
  },
  {
    type: ResourceType.affiliates,
    aliases: ["affiliate", "members"],
    sensitive: [],
    columns: [
      { header: "HOSTNAME", field: "hostname" },
      { header: "MACHINE TYPE", field: "machineType" },
      { header: "CONTROL PLANE", field: "controlPlane", format: "flag" },
      { header: "ADDRESSES", field: "addresses", format: "list" },
    ],
  },
  {
    type: ResourceType.peerspecs,
    aliases: ["peerspec", "kubespanpeerspecs", "kubespanpeerspec"],
    sensitive: [],
    columns: [
      { header: "LABEL", field: "label" },
      { header: "ENDPOINTS", field: "endpoints", format: "list" },
    ],
  },
  {
    type: ResourceType.peerstatuses,
    aliases: [
      "peerstatus",
      "kubespanpeerstatuses",
      "kubespanpeerstatus",
      "ksps",
    ],
    sensitive: [],
    columns: [
      { header: "LABEL", field: "label" },
      { header: "ENDPOINT", field: "endpoint" },
      { header: "STATE", field: "state" },
      { header: "PATH", field: "path", optional: true },
      { header: "RX", field: "receiveBytes", format: "bytes" },
      { header: "TX", field: "transmitBytes", format: "bytes" },
      { header: "HANDSHAKE", field: "lastHandshakeTime", format: "age" },
      { header: "REASON", field: "reason", optional: true },
    ],
  },
  {
    type: ResourceType.endpoints,
    aliases: ["endpoint", "kubespanendpoints", "kubespanendpoint", "kse"],
    sensitive: [],
    columns: [
      { header: "ENDPOINT", field: "endpoint" },
      { header: "AFFILIATE ID", field: "affiliateID" },
    ],
  },
  {
    type: ResourceType.config,
    aliases: ["configs", "kubespanconfigs", "kubespanconfig"],
    sensitive: ["cluster.secret"],
    columns: [
      { header: "ENABLED", field: "kubespan.enabled" },
      { header: "MTU", field: "kubespan.mtu" },
      { header: "BACKEND", field: "wireguard.backend" },
      { header: "LISTEN PORT", field: "wireguard.listenPort" },
    ],
  },
  {
    type: ResourceType.plugins,
    aliases: ["plugin"],
    sensitive: [],
    columns: [
      { header: "KIND", field: "kind" },
      { header: "ENABLED", field: "enabled" },
      { header: "STATE", field: "state" },
      { header: "ERRORS", field: "errors" },
      { header: "LAST ERROR", field: "lastError" },
    ],
  },
  {
    type: ResourceType.relaypairs,
    aliases: ["relaypair"],
    sensitive: [],
    columns: [
      { header: "PAIR", field: "labels" },
      { header: "PORTS", field: "ports" },
      { header: "LATCHED", field: "latched" },
      { header: "BYTES 1→2", field: "bytes.0", format: "bytes" },
      { header: "BYTES 2→1", field: "bytes.1", format: "bytes" },
      { header: "DROPPED", field: "dropped" },
      { header: "SINCE", field: "since", format: "age" },
    ],
  },
];
