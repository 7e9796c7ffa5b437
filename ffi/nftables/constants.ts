/**
 * nf_tables numbers from `linux/netfilter/nf_tables.h`, `nfnetlink.h` and
 * `netfilter.h`.
 *
 * @module
 */

export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;

export const NFT_MSG = {
  NEWTABLE: 0,
  GETTABLE: 1,
  DELTABLE: 2,
  NEWCHAIN: 3,
  GETCHAIN: 4,
  NEWRULE: 6,
  GETRULE: 7,
  NEWSET: 9,
  GETSET: 10,
  NEWSETELEM: 12,
  GETSETELEM: 13,
} as const;

export const NFPROTO = { inet: 1, ip: 2, ip6: 10 } as const;
/** Table families we support. */
export type NftFamily = keyof typeof NFPROTO;

export const HOOK = {
  prerouting: 0,
  input: 1,
  forward: 2,
  output: 3,
  postrouting: 4,
} as const;

export const TABLE_A = { NAME: 1, FLAGS: 2, USE: 3 } as const;
export const CHAIN_A = {
  TABLE: 1,
  NAME: 3,
  HOOK: 4,
  POLICY: 5,
  TYPE: 7,
} as const;
export const HOOK_A = { HOOKNUM: 1, PRIORITY: 2 } as const;
export const RULE_A = {
  TABLE: 1,
  CHAIN: 2,
  HANDLE: 3,
  EXPRESSIONS: 4,
} as const;
export const SET_A = {
  TABLE: 1,
  NAME: 2,
  FLAGS: 3,
  KEY_TYPE: 4,
  KEY_LEN: 5,
  ID: 10,
} as const;
export const SET_ELEM_LIST_A = {
  TABLE: 1,
  SET: 2,
  ELEMENTS: 3,
  SET_ID: 4,
} as const;
export const SET_ELEM_A = { KEY: 1, FLAGS: 3 } as const;
export const LIST_ELEM = 1;
export const EXPR_A = { NAME: 1, DATA: 2 } as const;
export const DATA_A = { VALUE: 1, VERDICT: 2 } as const;
export const VERDICT_A = { CODE: 1, CHAIN: 2 } as const;

export const NFT_SET_ANONYMOUS = 0x1;
export const NFT_SET_CONSTANT = 0x2;
export const NFT_SET_INTERVAL = 0x4;
export const NFT_SET_ELEM_INTERVAL_END = 0x1;

/** nft's data type ids for set keys. */
export const SET_KEY_TYPE = { ipv4_addr: 7, ipv6_addr: 8 } as const;

export const NFT_REG_VERDICT = 0;
export const NFT_REG_1 = 1;

export const VERDICT = {
  drop: 0,
  accept: 1,
  continue: -1,
  return: -5,
} as const;
