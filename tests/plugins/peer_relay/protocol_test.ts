import {
  decodeMessage,
  encodeMessage,
} from "../../../plugins/peer_relay/protocol.ts";
import { assertEquals } from "../../_tools/assert.ts";

const KEY = "A".repeat(43) + "=";
const text = (s: string) => new TextEncoder().encode(s);

Deno.test("encodeMessage() golden bytes and round trip", () => {
  const join = { op: "join", id: 7, peer: KEY, use: true } as const;
  assertEquals(
    new TextDecoder().decode(encodeMessage(join)),
    `{"v":1,"op":"join","id":7,"peer":"${KEY}","use":true}`,
  );
  assertEquals(decodeMessage(encodeMessage(join)), join);
  const reply = {
    op: "joined",
    id: 7,
    peer: KEY,
    joined: true,
    leg: 51901,
  } as const;
  assertEquals(decodeMessage(encodeMessage(reply)), reply);
  assertEquals(decodeMessage(encodeMessage({ op: "poke" })), { op: "poke" });
});

Deno.test("decodeMessage() anything malformed is undefined", () => {
  for (
    const bad of [
      "",
      "null",
      "[]",
      `{"v":2,"op":"poke"}`,
      `{"v":1,"op":"join","id":1,"peer":"nokey","use":true}`,
      `{"v":1,"op":"join","id":-1,"peer":"${KEY}","use":true}`,
      `{"v":1,"op":"join","id":1,"peer":"${KEY}"}`,
      `{"v":1,"op":"joined","id":1,"peer":"${KEY}"}`,
      `{"v":1,"op":"evil"}`,
      "\xff",
    ]
  ) assertEquals(decodeMessage(text(bad)), undefined, bad);
  assertEquals(decodeMessage(new Uint8Array(2000)), undefined, "too long");
  assertEquals(
    decodeMessage(
      text(
        `{"v":1,"op":"joined","id":1,"peer":"${KEY}","joined":true,"leg":70000}`,
      ),
    ),
    { op: "joined", id: 1, peer: KEY, joined: true },
    "a leg out of range is dropped",
  );
});
