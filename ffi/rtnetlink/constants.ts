/**
 * rtnetlink numbers from `linux/rtnetlink.h`, `if_link.h`, `if_addr.h`,
 * `fib_rules.h` and `veth.h`.
 *
 * @module
 */

export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
  NEWRULE: 32,
  DELRULE: 33,
  GETRULE: 34,
} as const;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

export const IFLA = {
  ADDRESS: 1,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  OPERSTATE: 16,
  LINKINFO: 18,
  NET_NS_FD: 28,
} as const;

export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const VETH_INFO_PEER = 1;
export const IFF_UP = 0x1;
/** Operationally up or unknown. */
export const IFF_RUNNING = 0x40;
/** Carrier present. */
export const IFF_LOWER_UP = 0x10000;
export const ARPHRD_ETHER = 1;

export const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, FLAGS: 8 } as const;
export const IFA_F_NODAD = 0x02;
export const IFA_F_PERMANENT = 0x80;

export const RTA = {
  DST: 1,
  OIF: 4,
  GATEWAY: 5,
  PRIORITY: 6,
  PREFSRC: 7,
  METRICS: 8,
  TABLE: 15,
} as const;
export const RTAX_MTU = 2;

export const RT_TABLE_MAIN = 254;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_SITE = 200;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RTN_UNICAST = 1;

export const FRA = {
  PRIORITY: 6,
  FWMARK: 10,
  TABLE: 15,
  FWMASK: 16,
  PROTOCOL: 21,
} as const;
export const FR_ACT_TO_TBL = 1;

/** Address family number of 4 / 6. */
export function afOf(family: 4 | 6): number {
  return family === 4 ? AF_INET : AF_INET6;
}

/** 4 / 6 of an address family number (undefined for others). */
export function familyOf(af: number): 4 | 6 | undefined {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;
}
