/**
 * The one place that calls `Deno.dlopen`: the few libc functions the
 * netlink layer, `sd_notify.ts` and `process_cpu.ts` need, loaded lazily on
 * first use.
 *
 * @module
 */

const symbols = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "pointer", "pointer"],
    result: "isize",
  },
  recvfromAsync: {
    name: "recvfrom",
    parameters: ["i32", "buffer", "usize", "i32", "pointer", "pointer"],
    result: "isize",
    nonblocking: true,
  },
  close: { parameters: ["i32"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof symbols>["symbols"];

let lib: Libc | undefined;

const LIBC_PATHS = [
  "libc.so.6",
  "/lib/x86_64-linux-gnu/libc.so.6",
  "/usr/lib/x86_64-linux-gnu/libc.so.6",
  "/lib/aarch64-linux-gnu/libc.so.6",
];

/** Returns the libc symbols, opening the library on first use. */
export function libc(): Libc {
  if (lib) return lib;
  if (Deno.build.os !== "linux") {
    throw new Error("Cannot use netlink: it exists only on Linux");
  }
  let last: unknown;
  for (const path of LIBC_PATHS) {
    try {
      lib = Deno.dlopen(path, symbols).symbols;
      return lib;
    } catch (err) {
      last = err;
    }
  }
  throw new Error(
    "Cannot open libc for netlink: run with --allow-ffi",
    { cause: last },
  );
}

/** The calling thread's `errno` right after a failed synchronous call. */
export function errno(): number {
  const p = libc().__errno_location();
  if (p === null) return 0;
  return new Deno.UnsafePointerView(p).getInt32();
}

/** A NUL-terminated C string. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder().encode(s);
  const out = new Uint8Array(enc.length + 1);
  out.set(enc);
  return out;
}
