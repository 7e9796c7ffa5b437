import { assert, assertEquals, assertThrows } from "../../_tools/assert.ts";
import {
  backoffDelay,
  h2Target,
  parseDiscoveryUrl,
  redirectTarget,
  targetBaseUrl,
} from "../../../plugins/discovery_service/target.ts";

Deno.test("parseDiscoveryUrl() picks TLS and default ports like Talos", () => {
  assertEquals(parseDiscoveryUrl("https://discovery.talos.dev/"), {
    host: "discovery.talos.dev",
    port: 443,
    tls: true,
  });
  assertEquals(parseDiscoveryUrl("grpc://d:3000"), {
    host: "d",
    port: 3000,
    tls: true,
  });
  assertEquals(parseDiscoveryUrl("http://127.0.0.1"), {
    host: "127.0.0.1",
    port: 80,
    tls: false,
  });
  assertEquals(
    targetBaseUrl(parseDiscoveryUrl("http://[::1]:3000")),
    "http://[::1]:3000",
  );
  assertThrows(() => parseDiscoveryUrl("ftp://x"), SyntaxError);
  assertThrows(() => parseDiscoveryUrl("nonsense"), SyntaxError);
});

Deno.test("redirectTarget() keeps TLS and parses host:port", () => {
  const t = parseDiscoveryUrl("https://a");
  assertEquals(redirectTarget(t, "b:3001"), {
    host: "b",
    port: 3001,
    tls: true,
  });
  assertEquals(redirectTarget(t, "[::1]:5"), {
    host: "::1",
    port: 5,
    tls: true,
  });
  assertThrows(() => redirectTarget(t, "b:99999"), SyntaxError);
});

Deno.test("backoffDelay() grows by 1.5, caps at 60 s, jitters ±50 %", () => {
  assertEquals(backoffDelay(1, 0.5), 500);
  assertEquals(backoffDelay(2, 0.5), 750);
  assertEquals(backoffDelay(3, 0), 1125 * 0.5);
  assertEquals(backoffDelay(100, 0.5), 60_000);
  assert(Math.abs(backoffDelay(100, 0.9999999) - 89_999.994) < 0.01);
});

Deno.test("h2Target() maps a discovery URL to the HTTP/2 target, the CA only for TLS", () => {
  const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  assertEquals(h2Target(parseDiscoveryUrl("grpc://[fd00::1]:3000"), pem), {
    host: "fd00::1",
    port: 3000,
    tls: true,
    ca: pem,
  });
  assertEquals(h2Target(parseDiscoveryUrl("https://d.example"), ""), {
    host: "d.example",
    port: 443,
    tls: true,
  });
  assertEquals(h2Target(parseDiscoveryUrl("http://127.0.0.1:3000"), pem), {
    host: "127.0.0.1",
    port: 3000,
    tls: false,
  });
});
