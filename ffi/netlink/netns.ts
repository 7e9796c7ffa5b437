/**
 * Network-namespace plumbing: open a netns file and run code with the
 * calling thread inside another netns (sockets created there stay there).
 *
 * @module
 */
import { cString, errno, libc } from "../libc.ts";
import { netlinkError } from "./errors.ts";

const O_RDONLY = 0;
const O_CLOEXEC = 0x80000;
const CLONE_NEWNET = 0x40000000;

function check(rc: number, operation: string): number {
  if (rc < 0) throw netlinkError({ operation, errno: errno() });
  return rc;
}

/** `/run/netns/<name>`, or `name` itself when it is an absolute path. */
export function netnsPath(netns: string): string {
  return netns.startsWith("/") ? netns : `/run/netns/${netns}`;
}

/** Opens the netns file and runs `fn` with its descriptor, then closes it. */
export function withNetnsFd<T>(netns: string, fn: (fd: number) => T): T {
  const c = libc();
  const fd = c.open(cString(netnsPath(netns)), O_RDONLY | O_CLOEXEC);
  check(fd, `open network namespace "${netns}"`);
  try {
    return fn(fd);
  } finally {
    c.close(fd);
  }
}

/** Runs `fn` with the calling thread switched into the netns, then back. */
export function inNetns<T>(netns: string, fn: () => T): T {
  const c = libc();
  return withNetnsFd(netns, (target) => {
    const self = check(
      c.open(cString("/proc/thread-self/ns/net"), O_RDONLY | O_CLOEXEC),
      "open the current network namespace",
    );
    try {
      check(
        c.setns(target, CLONE_NEWNET),
        `enter network namespace "${netns}"`,
      );
      try {
        return fn();
      } finally {
        check(c.setns(self, CLONE_NEWNET), "return to the original netns");
      }
    } finally {
      c.close(self);
    }
  });
}
