import {
  parseProcessStats,
  readProcessStats,
} from "../../web/process_stats.ts";
import { assert, assertEquals } from "../_tools/assert.ts";

// /proc/self/stat of a process named "deno (x) y": the name holds spaces and
// parentheses; utime 250, stime 50 ticks; starttime 123456 ticks after boot.
const STAT = "4242 (deno (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 " +
  "0 0 20 0 12 0 123456 1500000000 30000 18446744073709551615 1 1 0 0 0 0 0 " +
  "4096 0 0 0 0 17 1 0 0 0 0 0";
const STATUS = "Name:\tdeno\nVmSize:\t 1464844 kB\nVmRSS:\t   81920 kB\n";
const SYSTEM = "cpu  1 2 3\nbtime 1764590400\nprocesses 99\n";
const LIMITS =
  "Limit                     Soft Limit           Hard Limit           Units\n" +
  "Max open files            65536                65536                files\n";

Deno.test("parseProcessStats() reads memory, fds, start and CPU time from /proc", () => {
  assertEquals(parseProcessStats(STAT, STATUS, SYSTEM, LIMITS, 17), {
    residentMemoryBytes: 81920 * 1024,
    virtualMemoryBytes: 1464844 * 1024,
    openFds: 17,
    maxFds: 65536,
    startTimeSeconds: 1764590400 + 1234.56,
    cpuSecondsTotal: 3,
  });
});

Deno.test("readProcessStats() describes this process", () => {
  const s = readProcessStats();
  assert(s, "/proc is readable here");
  assert(s.residentMemoryBytes > 10e6, `rss ${s.residentMemoryBytes}`);
  assert(s.openFds > 2);
  const started = s.startTimeSeconds * 1000;
  assert(
    started <= Date.now() + 1000 && started > Date.now() - 3600_000,
    `start ${new Date(started).toISOString()}`,
  );
});
