import { formatAge, formatBytes } from "../../web/format.ts";
import { assertEquals } from "../_tools/assert.ts";

Deno.test("formatBytes() humanises byte counts in binary units", () => {
  const cases: [number, string][] = [
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [10 * 1024, "10 KiB"],
    [1024 * 1024 - 1, "1024 KiB"],
    [5 * 1024 ** 3, "5.0 GiB"],
    [3 * 1024 ** 6, "3072 PiB"],
    [Number.NaN, "NaN B"],
    [-5, "-5 B"],
  ];
  for (const [n, want] of cases) assertEquals(formatBytes(n), want, `${n}`);
});

Deno.test("formatAge() gives the age of an RFC 3339 time", () => {
  const now = Date.parse("2026-01-02T00:00:00Z");
  const at = (s: number) => new Date(now - s * 1000).toISOString();
  const cases: [string, string][] = [
    ["", "never"],
    ["not a time", "not a time"],
    [at(0), "0s"],
    [at(59), "59s"],
    [at(60), "1m"],
    [at(190), "3m10s"],
    [at(3600), "1h"],
    [at(2 * 3600 + 5 * 60 + 7), "2h5m"],
    [at(4 * 86400 + 3600), "4d"],
    [new Date(now + 30_000).toISOString(), "0s"], // clock skew: never negative
  ];
  for (const [time, want] of cases) {
    assertEquals(formatAge(time, now), want, time);
  }
});
