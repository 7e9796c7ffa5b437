/**
 * `RtNetlink` over the fake connection of `tests/_tools/nltest.ts`, fed by
 * the captured fixtures: request building and error mapping without root
 * (no socket is opened).
 */
import { RtNetlink } from "../../../ffi/rtnetlink/rtnetlink.ts";
import { RTM } from "../../../ffi/rtnetlink/constants.ts";
import { encodeAddress } from "../../../ffi/rtnetlink/address.ts";
import {
  encodeGetAddresses,
  encodeGetLinks,
  encodeGetRoutes,
} from "../../../ffi/rtnetlink/mod.ts";
import {
  ExistsError,
  NetlinkError,
  NotFoundError,
} from "../../../ffi/netlink/errors.ts";
import {
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
} from "../../../ffi/netlink/message.ts";
import {
  ack,
  byType,
  dial,
  dump,
  errno,
  replay,
  requestBytes,
} from "../../_tools/nltest.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../../_tools/assert.ts";
import { loadFixture, toHex } from "../_fixtures.ts";

const links = await loadFixture("links.hex");
const addresses = await loadFixture("addresses.hex");
const routes = await loadFixture("routes.hex");
const eexist = await loadFixture("error_eexist.hex");

Deno.test("RtNetlink lists links, addresses and routes from captured dumps", async () => {
  const conn = dial(byType({
    [RTM.GETLINK]: dump(links),
    [RTM.GETADDR]: dump(addresses),
    [RTM.GETROUTE]: dump(routes),
  }));
  const rt = await RtNetlink.open({ conn });
  const names = (await rt.links()).map((l) => l.name);
  assertEquals(names.sort(), ["lo", "va", "vb"]);
  const va = await rt.link("va");
  assertEquals([va.kind, va.mtu, va.up], ["veth", 1400, true]);
  assertEquals(
    (await rt.addresses("va")).map((a) => a.address).sort(),
    ["10.9.0.1/24", "fd00::1/64"],
  );
  assertEquals(
    (await rt.routes({ table: 180 })).map((r) =>
      `${r.destination} dev ${r.device} metric ${r.metric} mtu ${r.mtu}`
    ),
    ["0.0.0.0/0 dev va metric 1 mtu 1380", "::/0 dev va metric 1 mtu 1380"],
  );
  assertEquals(
    (await rt.routes({ table: 180, family: 6 })).map((r) => r.destination),
    ["::/0"],
  );
  // the requests are the encoders' dumps, each with a fresh sequence number
  const first = conn.requests[0]!;
  assertEquals(toHex(requestBytes(first)), toHex(encodeGetLinks()));
  assertEquals(first.flags, NLM_F_REQUEST | NLM_F_DUMP);
  const kinds = conn.requests.map((r) => r.type);
  assert(kinds.includes(RTM.GETADDR) && kinds.includes(RTM.GETROUTE));
  const getAddr = conn.requests.find((r) => r.type === RTM.GETADDR)!;
  assertEquals(toHex(requestBytes(getAddr)), toHex(encodeGetAddresses()));
  const getRoute = conn.requests.find((r) => r.type === RTM.GETROUTE)!;
  assertEquals(toHex(requestBytes(getRoute)), toHex(encodeGetRoutes()));
  const seqs = conn.requests.map((r) => r.seq);
  assertEquals(new Set(seqs).size, seqs.length, "sequence numbers reused");
  rt.close();
  assert(conn.closed, "close closes the connection");
});

Deno.test("RtNetlink.link of a missing name is a NotFoundError saying what to do", async () => {
  const rt = await RtNetlink.open({
    conn: dial(byType({ [RTM.GETLINK]: dump(links) })),
  });
  await assertRejects(
    () => rt.link("kubespan"),
    NotFoundError,
    'find link "kubespan"',
  );
});

Deno.test("a captured EEXIST with extended ACK becomes an ExistsError with the operation and the kernel's text", async () => {
  const conn = dial(byType({
    [RTM.GETLINK]: dump(links),
    [RTM.NEWADDR]: replay(eexist),
  }));
  const rt = await RtNetlink.open({ conn });
  const err = await assertRejects(
    () => rt.addAddress("va", "10.9.0.1/24"),
    ExistsError,
  );
  assertEquals(err.operation, 'add address 10.9.0.1/24 to "va"');
  assertEquals(err.errnoName, "EEXIST");
  assertEquals(err.extAckMessage, "ipv4: Address already assigned");
  assertEquals(
    err.message,
    'Cannot add address 10.9.0.1/24 to "va": EEXIST (File exists): ipv4: Address already assigned',
  );
  // the request: RTM_NEWADDR for va's index from the link dump, with an ACK asked
  const va = (await rt.link("va")).index;
  const req = conn.requests.find((r) => r.type === RTM.NEWADDR)!;
  assert((req.flags & NLM_F_ACK) !== 0, "NLM_F_ACK added to a request");
  const expected = encodeAddress("add", va, "10.9.0.1/24");
  new DataView(expected.buffer).setUint16(
    6,
    new DataView(expected.buffer).getUint16(6, true) | NLM_F_ACK,
    true,
  );
  assertEquals(toHex(requestBytes(req)), toHex(expected));
});

Deno.test("an errno reply carries the extended-ACK offset; a missing reply is a timeout", async () => {
  const rt = await RtNetlink.open({
    conn: dial(byType({
      [RTM.NEWLINK]: errno(95, { message: "Unknown device type", offset: 36 }),
      [RTM.DELLINK]: ack(),
    })),
  });
  const err = await assertRejects(
    () => rt.createLink("wg0", "wireguard"),
    NetlinkError,
  );
  assertEquals(
    [err.errnoName, err.extAckMessage, err.extAckOffset],
    ["EOPNOTSUPP", "Unknown device type", 36],
  );
  assertEquals(err.operation, 'create link "wg0" of kind "wireguard"');
  await rt.deleteLink("wg0");

  const silent = await RtNetlink.open({ conn: dial(() => []) });
  const timeout = await assertRejects(() => silent.links(), NetlinkError);
  assertEquals(timeout.errnoName, "ETIMEDOUT");
  assertEquals(
    timeout.operation,
    "list links: no reply from the kernel in time",
  );
});

Deno.test("RtNetlink.open takes a netns or a connection, not both", async () => {
  await assertRejects(
    () => RtNetlink.open({ netns: "x", conn: dial(() => []) }),
    TypeError,
    "not both",
  );
  assertThrows(
    () => dial(byType({})).send(encodeGetLinks(), "t"),
    Error,
    "no reply",
  );
});
