import { isLoopbackHost, splitHostPort } from "../../../core/netaddr/host.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";

Deno.test("isLoopbackHost() accepts loopback names and addresses only", () => {
  for (
    const h of [
      "127.0.0.1",
      "127.1.2.3",
      "::1",
      "[::1]",
      "localhost",
      "LOCALHOST",
      "::ffff:127.0.0.1",
    ]
  ) {
    assert(isLoopbackHost(h), h);
  }
  for (
    const h of [
      "0.0.0.0",
      "::",
      "192.168.1.5",
      "10.0.0.1",
      "fe80::1",
      "::ffff:10.0.0.1",
      "128.0.0.1",
      "::2",
      "localhost.example",
      "",
    ]
  ) {
    assert(!isLoopbackHost(h), h);
  }
});

Deno.test("splitHostPort() splits at the last colon and unbrackets IPv6", () => {
  const cases: [string, { host: string; port: number }][] = [
    ["127.0.0.1:7443", { host: "127.0.0.1", port: 7443 }],
    ["[::1]:50001", { host: "::1", port: 50001 }],
    ["[fd00::1]:0", { host: "fd00::1", port: 0 }],
    ["localhost:80", { host: "localhost", port: 80 }],
    ["0.0.0.0:3000", { host: "0.0.0.0", port: 3000 }],
  ];
  for (const [text, want] of cases) {
    assertEquals(splitHostPort(text), want, text);
  }
});
