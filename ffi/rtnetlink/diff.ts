/**
 * The pure half of routing reconciliation: compares what the kernel has
 * with what is wanted and lists the minimal adds and removes. Only objects
 * inside the managed scope (tables, rule priorities, links) are removed.
 *
 * @module
 */
import {
  formatPrefix,
  maskPrefix,
  parsePrefix,
} from "../../core/netaddr/ip.ts";
import { type RouteScope, routeScopeOf } from "./route.ts";
import type { RuleSpec } from "./rule.ts";

/** An address on a named link. */
export interface AddressEntry {
  ifname: string;
  /** `fd00::1/64`. */
  address: string;
}

/** A route by device name. */
export interface RouteEntry {
  destination: string;
  device: string;
  table: number;
  /** @default 0 (IPv6: the kernel stores 0 as 1024) */
  metric?: number;
  /** 0 or absent = no MTU metric. */
  mtu?: number;
  gateway?: string;
  /**
   * @default "global" with a gateway, else "link" (IPv6 routes are always
   * global in the kernel)
   */
  scope?: RouteScope;
}

/** Routing objects, as read from or wanted in the kernel. */
export interface RoutingSnapshot {
  addresses: AddressEntry[];
  routes: RouteEntry[];
  rules: RuleSpec[];
}

/** A desired state plus the scope it owns. */
export interface DesiredRouting extends RoutingSnapshot {
  /** Tables owned entirely. @default the tables of `routes` */
  tables?: number[];
  /** Rule priorities owned entirely. @default the priorities of `rules` */
  rulePriorities?: number[];
  /** Links whose addresses are owned (link-local IPv6 is never removed). @default the links of `addresses` */
  addressLinks?: string[];
}

/** What {@linkcode diffRouting} says to change. Apply removes first. */
export interface RoutingDiff {
  removeAddresses: AddressEntry[];
  addAddresses: AddressEntry[];
  removeRoutes: RouteEntry[];
  addRoutes: RouteEntry[];
  removeRules: RuleSpec[];
  addRules: RuleSpec[];
}

function canonAddress(a: string): string {
  return formatPrefix(parsePrefix(a));
}

/**
 * Canonical destinations by their text: every pass diffs the same prefixes
 * (desired and read back), and parsing and formatting them was most of a
 * no-op pass over 1000 routes. Bounded; cleared when full.
 */
const canonCache = new Map<string, { text: string; family: 4 | 6 }>();
const CANON_CACHE_MAX = 16_384;

function canonDst(d: string): { text: string; family: 4 | 6 } {
  const hit = canonCache.get(d);
  if (hit) return hit;
  const p = parsePrefix(d);
  const out = { text: formatPrefix(maskPrefix(p)), family: p.ip.family };
  if (canonCache.size >= CANON_CACHE_MAX) canonCache.clear();
  canonCache.set(d, out);
  return out;
}

function normRoute(r: RouteEntry): Required<Omit<RouteEntry, "gateway">> & {
  gateway: string;
  family: 4 | 6;
} {
  const dst = canonDst(r.destination);
  const metric = r.metric ?? 0;
  return {
    destination: dst.text,
    family: dst.family,
    device: r.device,
    table: r.table,
    metric: dst.family === 6 && metric === 0 ? 1024 : metric,
    mtu: r.mtu ?? 0,
    gateway: r.gateway ?? "",
    scope: dst.family === 6 ? "global" : routeScopeOf(r),
  };
}

function routeFull(r: RouteEntry): string {
  const n = normRoute(r);
  return `${n.destination}|${n.table}|${n.metric}|${n.device}|${n.mtu}|${n.gateway}|${n.scope}`;
}

function ruleKey(r: RuleSpec): string {
  const mask = r.fwmark === undefined ? "" : (r.fwmask ?? 0xffffffff) >>> 0;
  return `${r.family}|${r.priority}|${r.table}|${r.fwmark ?? ""}|${mask}`;
}

function addressKey(a: AddressEntry): string {
  return `${a.ifname}|${canonAddress(a.address)}`;
}

function isLinkLocal6(a: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(a);
}

function setDiff<T>(
  current: T[],
  desired: T[],
  key: (x: T) => string,
  owned: (x: T) => boolean,
): { add: T[]; remove: T[] } {
  const want = new Map(desired.map((x) => [key(x), x]));
  const have = new Map(current.filter(owned).map((x) => [key(x), x]));
  return {
    add: [...want].filter(([k]) => !have.has(k)).map(([, x]) => x),
    remove: [...have].filter(([k]) => !want.has(k)).map(([, x]) => x),
  };
}

/**
 * Lists the changes that turn `current` into `desired`. Pure. A route
 * whose destination, table and metric match but whose device, MTU or
 * gateway differ is removed and added again.
 */
export function diffRouting(
  current: RoutingSnapshot,
  desired: DesiredRouting,
): RoutingDiff {
  const tables = new Set(desired.tables ?? desired.routes.map((r) => r.table));
  const prios = new Set(
    desired.rulePriorities ?? desired.rules.map((r) => r.priority),
  );
  const links = new Set(
    desired.addressLinks ?? desired.addresses.map((a) => a.ifname),
  );
  const routes = setDiff(
    current.routes,
    desired.routes,
    routeFull,
    (r) => tables.has(r.table),
  );
  const rules = setDiff(
    current.rules,
    desired.rules,
    ruleKey,
    (r) => prios.has(r.priority),
  );
  const addresses = setDiff(
    current.addresses,
    desired.addresses,
    addressKey,
    (a) => links.has(a.ifname) && !isLinkLocal6(a.address),
  );
  return {
    removeAddresses: addresses.remove,
    addAddresses: addresses.add,
    removeRoutes: routes.remove,
    addRoutes: routes.add,
    removeRules: rules.remove,
    addRules: rules.add,
  };
}

/** Total number of changes in a diff. */
export function diffSize(d: RoutingDiff): number {
  return d.removeAddresses.length + d.addAddresses.length +
    d.removeRoutes.length + d.addRoutes.length + d.removeRules.length +
    d.addRules.length;
}
