/**
 * Route messages: RTM_NEWROUTE/RTM_DELROUTE for a prefix via a device in a
 * table with metric and MTU, the RTM_GETROUTE dump and a parser.
 *
 * @module
 */
import { AttributeDecoder } from "../netlink/decoder.ts";
import {
  buildMessage,
  type NetlinkMessage,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
} from "../netlink/message.ts";
import {
  formatIP,
  ipFromBytes,
  maskIP,
  parseIP,
  parsePrefix,
} from "../../core/netaddr/ip.ts";
import {
  AF_UNSPEC,
  afOf,
  familyOf,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RTA,
  RTAX_MTU,
  RTM,
  RTN_UNICAST,
  RTPROT_STATIC,
} from "./constants.ts";

/** A route to install. */
export interface RouteSpec {
  /** `0.0.0.0/0`, `10.1.0.0/16`, `::/0`. */
  destination: string;
  /** Output link index. */
  ifindex: number;
  /** @default 254 (main) */
  table?: number;
  /** Route priority. @default 0 */
  metric?: number;
  /** Route MTU; absent or 0 = none. */
  mtu?: number;
  /** Next hop; absent = directly connected. */
  gateway?: string;
  /** RTPROT_*. @default 4 (static) */
  protocol?: number;
  /** @default "global" with a gateway, else "link" */
  scope?: RouteScope;
}

/** Route scopes by name (`ip route ... scope NAME`). */
export type RouteScope = "global" | "link" | "host";

const SCOPE_NUMBERS: Record<RouteScope, number> = {
  global: RT_SCOPE_UNIVERSE,
  link: RT_SCOPE_LINK,
  host: RT_SCOPE_HOST,
};

/** The scope a route gets: its own, or global with a gateway, else link. */
export function routeScopeOf(
  route: { scope?: RouteScope; gateway?: string },
): RouteScope {
  return route.scope ?? (route.gateway ? "global" : "link");
}

/** The name of an RT_SCOPE_* number; undefined for site and unknown scopes. */
export function routeScopeName(scope: number): RouteScope | undefined {
  return (Object.keys(SCOPE_NUMBERS) as RouteScope[]).find((k) =>
    SCOPE_NUMBERS[k] === scope
  );
}

/** A route as the kernel reports it. */
export interface Route {
  family: 4 | 6;
  destination: string;
  table: number;
  /** 0 when the route has no output link (e.g. unreachable). */
  ifindex: number;
  metric: number;
  /** 0 = no MTU metric. */
  mtu: number;
  gateway?: string;
  protocol: number;
  scope: number;
  /** RTN_* (1 = unicast). */
  type: number;
}

/** RTM_GETROUTE dump of both families (filter the table client-side). */
export function encodeGetRoutes(): Uint8Array<ArrayBuffer> {
  return buildMessage(RTM.GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, (e) => {
    e.u8(AF_UNSPEC).zeros(7).u32(0);
  });
}

/**
 * RTM_NEWROUTE or RTM_DELROUTE. `mode` `add` fails when the route exists,
 * `replace` overwrites it, `delete` removes it.
 */
export function encodeRoute(
  mode: "add" | "replace" | "delete",
  route: RouteSpec,
): Uint8Array<ArrayBuffer> {
  const dst = parsePrefix(route.destination);
  const table = route.table ?? RT_TABLE_MAIN;
  const type = mode === "delete" ? RTM.DELROUTE : RTM.NEWROUTE;
  const flags = mode === "delete"
    ? NLM_F_REQUEST
    : mode === "add"
    ? NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL
    : NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
  const scope = SCOPE_NUMBERS[routeScopeOf(route)];
  return buildMessage(type, flags, (e) => {
    // family, dst_len, src_len, tos, table, protocol, scope, type, flags
    e.u8(afOf(dst.ip.family)).u8(dst.bits).u8(0).u8(0);
    e.u8(table < 256 ? table : 0).u8(route.protocol ?? RTPROT_STATIC);
    e.u8(scope).u8(RTN_UNICAST).u32(0);
    e.attrU32(RTA.TABLE, table);
    if (dst.bits > 0) e.attrBytes(RTA.DST, maskIP(dst.ip, dst.bits).bytes);
    if (route.gateway) e.attrBytes(RTA.GATEWAY, parseIP(route.gateway).bytes);
    e.attrU32(RTA.OIF, route.ifindex);
    if (route.metric) e.attrU32(RTA.PRIORITY, route.metric);
    if (route.mtu) {
      e.nested(RTA.METRICS, (m) => m.attrU32(RTAX_MTU, route.mtu ?? 0));
    }
  });
}

/** Parses one RTM_NEWROUTE reply; undefined for other families. */
export function parseRoute(msg: NetlinkMessage): Route | undefined {
  const p = msg.payload;
  if (p.length < 12) throw new SyntaxError("Cannot parse route: short rtmsg");
  const family = familyOf(p[0] ?? 0);
  if (!family) return undefined;
  const dstLen = p[1] ?? 0;
  let dst: Uint8Array = new Uint8Array(family === 4 ? 4 : 16);
  const route: Route = {
    family,
    destination: "",
    table: p[4] ?? 0,
    ifindex: 0,
    metric: 0,
    mtu: 0,
    protocol: p[5] ?? 0,
    scope: p[6] ?? 0,
    type: p[7] ?? 0,
  };
  const d = new AttributeDecoder(p.subarray(12));
  while (d.next()) {
    switch (d.type) {
      case RTA.DST:
        dst = d.copy();
        break;
      case RTA.TABLE:
        route.table = d.u32();
        break;
      case RTA.OIF:
        route.ifindex = d.u32();
        break;
      case RTA.PRIORITY:
        route.metric = d.u32();
        break;
      case RTA.GATEWAY:
        route.gateway = formatIP(ipFromBytes(d.bytes()));
        break;
      case RTA.METRICS:
        d.nested((m) => {
          while (m.next()) if (m.type === RTAX_MTU) route.mtu = m.u32();
        });
        break;
    }
  }
  if (d.err) throw d.err;
  route.destination = `${formatIP(ipFromBytes(dst))}/${dstLen}`;
  return route;
}
