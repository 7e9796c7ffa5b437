/**
 * `Nftables` over the fake connection of `tests/_tools/nltest.ts`: reading
 * a table back from captured dumps and the error mapping of an atomic
 * batch, without root (no socket is opened).
 */
import { meshTableSpec } from "../../../ffi/nftables/mesh_table.ts";
import { Nftables } from "../../../ffi/nftables/nftables.ts";
import {
  NFNL_SUBSYS_NFTABLES,
  NFT_MSG,
  SET_ELEM_LIST_A,
} from "../../../ffi/nftables/constants.ts";
import { encodeReplaceTable } from "../../../ffi/nftables/batch.ts";
import { AttributeDecoder } from "../../../ffi/netlink/decoder.ts";
import { NetlinkError } from "../../../ffi/netlink/errors.ts";
import {
  type NetlinkMessage,
  NLM_F_ACK,
} from "../../../ffi/netlink/message.ts";
import {
  ack,
  byType,
  dial,
  dump,
  errno,
  type Handler,
  requestBytes,
} from "../../_tools/nltest.ts";
import { assert, assertEquals, assertRejects } from "../../_tools/assert.ts";
import { loadFixture, toHex } from "../_fixtures.ts";

const nft = (type: number) => (NFNL_SUBSYS_NFTABLES << 8) | type;

/** The set a GETSETELEM dump request names. */
function setOf(req: NetlinkMessage): string {
  const d = new AttributeDecoder(req.payload.subarray(4));
  while (d.next()) if (d.type === SET_ELEM_LIST_A.SET) return d.string();
  return "";
}

const elements: Record<string, NetlinkMessage[]> = {
  t4: await loadFixture("nft_setelems_t4.hex"),
  t6: await loadFixture("nft_setelems_t6.hex"),
};

const MESH = {
  name: "edgespan",
  routedIPv4: ["10.5.0.0/16"],
  routedIPv6: ["fd00:1::/48"],
  mssIPv4: 1368,
  mssIPv6: 1348,
  firewallMark: 0x20,
  forceFirewallMark: 0x40,
  firewallMask: 0x60,
};

/** The kernel holding table `inet cap` as captured (see fixtures/capture.ts). */
const capTable = byType({
  [nft(NFT_MSG.GETTABLE)]: ack(),
  [nft(NFT_MSG.GETCHAIN)]: dump(await loadFixture("nft_chains.hex")),
  [nft(NFT_MSG.GETSET)]: dump(await loadFixture("nft_sets.hex")),
  [nft(NFT_MSG.GETSETELEM)]: (req) => dump(elements[setOf(req)] ?? [])(req),
  [nft(NFT_MSG.GETRULE)]: dump(await loadFixture("nft_rules.hex")),
});

Deno.test("Nftables.readTable rebuilds a captured table: chain, interval sets, rule", async () => {
  const conn = dial(capTable);
  const t = await (await Nftables.open({ conn })).readTable("inet", "cap");
  assertEquals(
    t.sets.map((s) => [s.name, s.type, s.interval, s.elements]),
    [
      ["t4", "ipv4_addr", true, ["10.5.0.0/16", "192.168.7.9/32"]],
      ["t6", "ipv6_addr", true, ["fd00:1::/48"]],
    ],
  );
  assertEquals(t.chains.length, 1);
  const [out] = t.chains;
  assertEquals(
    [out?.name, out?.type, out?.hook, out?.priority, out?.policy],
    ["out", "route", "output", 0, "accept"],
  );
  assertEquals(out?.rules.length, 1);
  assert(out?.rules[0]?.exprs.includes("lookup t4"), "rule looks up t4");
  // one element dump per set, each naming its set
  assertEquals(
    conn.requests.filter((r) => r.type === nft(NFT_MSG.GETSETELEM)).map(setOf),
    ["t4", "t6"],
  );
});

Deno.test("Nftables.hasTable maps ENOENT to false and verifyTable reports a missing table", async () => {
  const nf = await Nftables.open({
    conn: dial(byType({ [nft(NFT_MSG.GETTABLE)]: errno(2) })),
  });
  assertEquals(await nf.hasTable("inet", "edgespan"), false);
  const spec = meshTableSpec(MESH);
  const drift = await nf.verifyTable(spec);
  assert(drift.length > 0, "a missing table is drift");
  const perm = await Nftables.open({
    conn: dial(byType({ [nft(NFT_MSG.GETTABLE)]: errno(1) })),
  });
  await assertRejects(
    () => perm.hasTable("inet", "edgespan"),
    NetlinkError,
    "EPERM",
  );
});

Deno.test("a failing batch message surfaces as its own description with errno and extended ACK", async () => {
  const spec = meshTableSpec(MESH);
  const tx = encodeReplaceTable(spec);
  const firstSet = tx.messages.findIndex((m) =>
    new DataView(m.buffer).getUint16(4, true) === nft(NFT_MSG.NEWSET)
  );
  assert(firstSet > 0, "the mesh table has sets");
  const fail: Handler = errno(22, { message: "set key too long", offset: 40 });
  const conn = dial((req) =>
    req.type === nft(NFT_MSG.NEWSET) || req.type === nft(NFT_MSG.NEWRULE)
      ? fail(req)
      : []
  );
  const nf = await Nftables.open({ conn });
  const err = await assertRejects(() => nf.replaceTable(spec), NetlinkError);
  // the first failure is reported, named by the message that failed
  assertEquals(
    err.operation,
    `replace nft table inet edgespan: ${tx.descriptions[firstSet]}`,
  );
  assertEquals(
    [err.errnoName, err.extAckMessage, err.extAckOffset],
    ["EINVAL", "set key too long", 40],
  );
  // one datagram: begin, the messages (each asking for an ACK), end
  assertEquals(conn.requests.length, tx.messages.length);
  assertEquals(
    conn.requests.map((r) => toHex(requestBytes(r))),
    tx.messages.map(toHex),
  );
  assert(
    conn.requests.slice(1, -1).every((r) => (r.flags & NLM_F_ACK) !== 0),
    "every table message asks for an ACK",
  );
  // the sequence numbers of one transaction are distinct
  assertEquals(
    new Set(conn.requests.map((r) => r.seq)).size,
    conn.requests.length,
  );
});

Deno.test("Nftables.deleteTable succeeds on ACKs and reports a failure as the delete", async () => {
  const ok = dial(() => []);
  await (await Nftables.open({ conn: ok })).deleteTable("inet", "edgespan");
  assertEquals(
    ok.requests.map((r) => r.type & 0xff),
    [0x10, NFT_MSG.NEWTABLE, NFT_MSG.DELTABLE, 0x11],
  );
  const busy = await Nftables.open({
    conn: dial((req) =>
      req.type === nft(NFT_MSG.DELTABLE) ? errno(16)(req) : []
    ),
  });
  await assertRejects(
    () => busy.deleteTable("inet", "edgespan", { ifExists: false }),
    NetlinkError,
    "Cannot delete nft table inet edgespan: EBUSY",
  );
});
