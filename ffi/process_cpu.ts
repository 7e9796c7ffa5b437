/**
 * The CPU time this process has used (every thread, user and system), at
 * nanosecond resolution: `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`. The
 * agent's timeline records it at each step, so a slow start shows whether
 * the agent was working or waiting for a core (`/proc/self/stat` counts in
 * 10 ms ticks, too coarse for steps of a few milliseconds).
 *
 * @module
 */
import { libc } from "./libc.ts";

/** Linux's id of the per-process CPU clock. */
const CLOCK_PROCESS_CPUTIME_ID = 2;

const timespec = new BigInt64Array(2); // tv_sec, tv_nsec

/**
 * Milliseconds of CPU the process used so far; `undefined` where the clock
 * cannot be read (not Linux, no FFI permission).
 */
export function processCpuMs(): number | undefined {
  try {
    const buf = new Uint8Array(timespec.buffer);
    if (libc().clock_gettime(CLOCK_PROCESS_CPUTIME_ID, buf) !== 0) {
      return undefined;
    }
    return Number(timespec[0]!) * 1000 + Number(timespec[1]!) / 1e6;
  } catch {
    return undefined;
  }
}
