/**
 * The agent process's own resource use for `/metrics`, in the Prometheus
 * client libraries' `process_*` names: read from `/proc/self` (Linux).
 *
 * @module
 */

/** What the `process_*` metrics show. */
export interface ProcessStats {
  residentMemoryBytes: number;
  virtualMemoryBytes: number;
  openFds: number;
  maxFds: number;
  /** Seconds since the epoch the process started. */
  startTimeSeconds: number;
  /** User plus system CPU seconds. */
  cpuSecondsTotal: number;
}

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/**
 * Parses `/proc/self/stat`, `/proc/self/status` (memory in kB, whatever the
 * page size), `/proc/stat` (for `btime`) and `/proc/self/limits`; pure.
 */
export function parseProcessStats(
  stat: string,
  status: string,
  systemStat: string,
  limits: string,
  openFds: number,
): ProcessStats {
  const kb = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(status)?.[1] ?? 0) *
    1024;
  // Fields after the command name, which is in parentheses and may hold spaces.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const field = (n: number) => Number(rest[n - 3]); // n: 1-based field number
  const btime = Number(/^btime (\d+)$/m.exec(systemStat)?.[1] ?? 0);
  const maxFds = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
  return {
    residentMemoryBytes: kb("VmRSS"),
    virtualMemoryBytes: kb("VmSize"),
    openFds,
    maxFds: maxFds === undefined || maxFds === "unlimited"
      ? -1
      : Number(maxFds),
    startTimeSeconds: btime + field(22) / USER_HZ,
    cpuSecondsTotal: (field(14) + field(15)) / USER_HZ,
  };
}

/** The stats of this process, or `undefined` where `/proc` is not readable. */
export function readProcessStats(): ProcessStats | undefined {
  try {
    let fds = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) fds++;
    return parseProcessStats(
      Deno.readTextFileSync("/proc/self/stat"),
      Deno.readTextFileSync("/proc/self/status"),
      Deno.readTextFileSync("/proc/stat"),
      Deno.readTextFileSync("/proc/self/limits"),
      fds - 1, // the directory handle being read
    );
  } catch {
    return undefined;
  }
}
